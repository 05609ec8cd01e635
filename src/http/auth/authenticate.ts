import type { MiddlewareHandler } from "hono";
import { AuthenticationError } from "../../core/errors.ts";
import { sha256 } from "../../core/sha256.ts";
import { ADMIN_ROLE, type Authenticator, type Identity } from "./identity.ts";

const ADMIN: Identity = { subject: "admin-token", roles: [ADMIN_ROLE] };

/** Compares digests byte by byte without an early exit, so the time taken reveals nothing about the secret. */
function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/**
 * Turns a bearer token into its identity: the ADMIN_TOKEN (compared in constant time) is the admin role,
 * anything else goes to the authenticator; throws AuthenticationError when it does not verify.
 */
export function createTokenVerifier(deps: { authenticator?: Authenticator; adminToken?: string }) {
  const adminDigest = deps.adminToken ? sha256(deps.adminToken) : undefined;
  return async (token: string): Promise<Identity> => {
    if (adminDigest && sameDigest(await sha256(token), await adminDigest)) return ADMIN;
    if (deps.authenticator) return deps.authenticator(token);
    throw new AuthenticationError("this API takes no bearer tokens", "invalid_token");
  };
}

/**
 * Reads `Authorization: Bearer <token>` on every request. No header: the request goes on anonymous, and
 * routes that need someone say 401. A header that does not verify is 401 on every route, so a caller
 * learns at once that their credentials are wrong. The ADMIN_TOKEN, when set, is an identity with the admin role.
 */
export function authenticate(deps: { authenticator?: Authenticator; adminToken?: string }): MiddlewareHandler {
  const verify = createTokenVerifier(deps);
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined) return next();
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) throw new AuthenticationError("Authorization must be 'Bearer <token>'", "invalid_request");
    c.set("identity", await verify(match[1] as string));
    await next();
  };
}
