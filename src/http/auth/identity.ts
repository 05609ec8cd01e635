import type { Context, MiddlewareHandler } from "hono";
import { AuthenticationError, ForbiddenError } from "../../core/errors.ts";

/** Who is calling, as a verified credential says: a subject id and the roles granted to it. */
export type Identity = { subject: string; roles: readonly string[] };

/** Turns a bearer credential into an identity, or throws AuthenticationError. */
export type Authenticator = (token: string) => Promise<Identity>;

/** The role that opens the admin routes; the ADMIN_TOKEN stands for an identity holding it. */
export const ADMIN_ROLE = "admin";

declare module "hono" {
  interface ContextVariableMap {
    identity?: Identity;
  }
}

/** The caller's verified identity, or undefined for an anonymous request. */
export const identityOf = (c: Context): Identity | undefined => c.get("identity");

export const hasRole = (identity: Identity | undefined, role: string): boolean => identity?.roles.includes(role) ?? false;

/** The caller's identity; an anonymous caller gets 401. */
export function requireIdentity(c: Context): Identity {
  const identity = identityOf(c);
  if (!identity) throw new AuthenticationError("this route needs Authorization: Bearer <token>");
  return identity;
}

/** The caller's identity when it holds one of `roles`: 401 when anonymous, 403 when it holds none of them. */
export function requireRole(c: Context, ...roles: string[]): Identity {
  const identity = requireIdentity(c);
  if (!roles.some((role) => identity.roles.includes(role)))
    throw new ForbiddenError(`this route needs the role ${roles.join(" or ")}`);
  return identity;
}

/** Route middleware: only callers with one of `roles` get past it, before any body is validated. */
export function roleRequired(...roles: string[]): MiddlewareHandler {
  return async (c, next) => {
    requireRole(c, ...roles);
    await next();
  };
}

/** Route middleware: only authenticated callers get past it. */
export const identityRequired: MiddlewareHandler = async (c, next) => {
  requireIdentity(c);
  await next();
};
