/** `eventline/hono`: the HTTP kit. Runtime-agnostic: it serves on Bun, Deno and workerd alike. */

/** The Hono app: request log, problem+json errors, health, readiness, metrics, OpenAPI, admin and the app's routes. */
export { createApp, type AppDeps } from "./http/create-app.ts";
/** RFC 9457 problem details, and the mapping of eventline's errors to them. */
export { problem, problemFor, type Problem } from "./http/problem.ts";
/** Runs a command route: Idempotency-Key, If-Match, the 201/200 answer with ETag and position. */
export { runCommand } from "./http/run-command.ts";
/** Validators for bodies, queries and params (Standard Schema, so valibot, zod or arktype) that answer 400. */
export { jsonOf, paramsOf, queryOf } from "./http/validate.ts";
/** Read-your-writes: `?after=<position>` waits until the read models have applied it. */
export { awaitFreshness, FRESHNESS_HEADER, type AppliedCheck } from "./http/freshness.ts";
/** The admin routes (outbox, consumers, dead letters, sagas, rebuilds) behind a bearer token. */
export { createAdminRoutes, type AdminDeps } from "./http/admin-routes.ts";
/** Who is calling: the verified identity, and guards that answer 401 (anonymous) or 403 (role missing). */
export {
  ADMIN_ROLE,
  hasRole,
  identityOf,
  identityRequired,
  requireIdentity,
  requireRole,
  roleRequired,
  type Authenticator,
  type Identity,
} from "./http/auth/identity.ts";
/** Bearer JWTs verified with jose: an HS256 secret or a JWKS URL, issuer, audience, expiry, bounded clock skew. */
export { createJwtAuthenticator, type JwtOptions } from "./http/auth/jwt-authenticator.ts";
/** Signs an HS256 token with the shared secret, for local use and tests. */
export { signToken } from "./http/auth/sign-token.ts";
