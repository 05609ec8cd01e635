import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { ForbiddenError } from "../../core/errors.ts";
import { sha256Hex } from "../../core/sha256.ts";
import { ADMIN_ROLE, type Identity } from "../auth/identity.ts";

/** The console's session: the admin's own token, in a cookie no script can read and no other site sends. */
export const SESSION_COOKIE = "eventline_console";
export const CSRF_HEADER = "x-csrf-token";

export type TokenVerifier = (token: string) => Promise<Identity>;

declare module "hono" {
  interface ContextVariableMap {
    consoleCsrf?: string;
  }
}

/** The CSRF token of a session: derived from its secret, so only a page served to that session knows it. */
export const csrfTokenFor = (sessionToken: string) => sha256Hex(`eventline console csrf\n${sessionToken}`);

/** Whether a token verifies and holds the admin role. */
export async function isAdminToken(verify: TokenVerifier, token: string): Promise<boolean> {
  try {
    return (await verify(token)).roles.includes(ADMIN_ROLE);
  } catch {
    return false;
  }
}

/** Compares two texts without an early exit, so the time taken says nothing about where they differ. */
function sameText(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export function startSession(c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Strict",
    // Behind a proxy that ends TLS, the request's scheme is in X-Forwarded-Proto.
    secure: new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https",
    path: "/console",
    maxAge: 8 * 3600,
  });
}

export const endSession = (c: Context) => deleteCookie(c, SESSION_COOKIE, { path: "/console" });

/**
 * Every console route but the login and its assets: without a session whose token still verifies as an
 * admin, to the login page; every POST must also carry the session's CSRF token.
 */
export function sessionRequired(verify: TokenVerifier): MiddlewareHandler {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (!token || !(await isAdminToken(verify, token))) {
      if (token) endSession(c);
      return c.redirect("/console/login", c.req.method === "GET" || c.req.method === "HEAD" ? 302 : 303);
    }
    const csrf = await csrfTokenFor(token);
    const reading = c.req.method === "GET" || c.req.method === "HEAD";
    if (!reading && !sameText(c.req.header(CSRF_HEADER) ?? "", csrf))
      throw new ForbiddenError("the console's CSRF token is missing or wrong");
    c.set("consoleCsrf", csrf);
    await next();
    // Pages show operational and personal data: never kept by a browser or a proxy.
    c.header("cache-control", "no-store");
  };
}
