import * as v from "valibot";
import { issueLines } from "./config-issues.ts";
import { ConfigError } from "./core/errors.ts";
import type { JwtOptions } from "./http/auth/jwt-authenticator.ts";

/**
 * The secret local runs sign and verify tokens with when none is configured. It is public (it is in this
 * file), so production refuses it.
 */
export const DEV_JWT_SECRET = "eventline-development-secret-not-for-production";
const DEV_ISSUER = "eventline-dev";
const DEV_AUDIENCE = "eventline";

export type AuthConfig = {
  jwt: JwtOptions;
  /** True when tokens are checked against DEV_JWT_SECRET: fine on a laptop, refused in production. */
  devSecret: boolean;
  /** EVENTLINE_ENV=production (or NODE_ENV=production): no development defaults. */
  production: boolean;
  /** Origins allowed to call the API from a browser (CORS_ORIGINS); empty sends no CORS headers. */
  corsOrigins: string[];
};

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

const origin = v.pipe(
  v.string(),
  v.regex(/^https?:\/\/[^/\s]+$/, "must be origins like https://app.example.com, comma-separated"),
);

const AuthSchema = v.object({
  EVENTLINE_ENV: v.optional(v.picklist(["development", "test", "production"], "must be development, test or production")),
  NODE_ENV: v.optional(v.string()),
  AUTH_JWT_SECRET: v.optional(v.pipe(v.string(), v.minLength(32, "must be at least 32 characters"))),
  AUTH_JWKS_URL: v.optional(
    v.pipe(
      v.string(),
      v.url("must be a URL"),
      v.check((s) => /^https?:\/\//.test(s), "must start with http:// or https://"),
    ),
  ),
  AUTH_ISSUER: v.optional(v.pipe(v.string(), v.minLength(1))),
  AUTH_AUDIENCE: v.optional(v.pipe(v.string(), v.minLength(1))),
  AUTH_CLOCK_SKEW_SECONDS: v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number), v.maxValue(300, "must be at most 300")),
    "30",
  ),
  AUTH_ROLES_CLAIM: v.optional(v.pipe(v.string(), v.regex(/^[\w:./-]{1,100}$/, "must be a claim name")), "roles"),
  CORS_ORIGINS: v.optional(
    v.pipe(
      v.string(),
      v.transform((s) =>
        s
          .split(",")
          .map((o) => o.trim())
          .filter(Boolean),
      ),
      v.array(origin),
    ),
  ),
});

/**
 * Who may call the API: a shared HS256 secret or an identity provider's JWKS, with the issuer and audience
 * tokens must name. Without either, an API on loopback (or EVENTLINE_ENV=development) uses DEV_JWT_SECRET;
 * production, and an API listening beyond loopback, refuse to start.
 */
export function loadAuthConfig(env: Record<string, string | undefined>): AuthConfig {
  const parsed = v.safeParse(AuthSchema, env);
  if (!parsed.success) throw new ConfigError(issueLines(parsed.issues));
  const c = parsed.output;
  const production = c.EVENTLINE_ENV === "production" || (c.EVENTLINE_ENV === undefined && c.NODE_ENV === "production");
  const problems: string[] = [];
  if (c.AUTH_JWT_SECRET && c.AUTH_JWKS_URL) problems.push("AUTH_JWT_SECRET and AUTH_JWKS_URL: set one, not both");
  if (production) {
    if (!c.AUTH_JWT_SECRET && !c.AUTH_JWKS_URL) problems.push("AUTH_JWT_SECRET or AUTH_JWKS_URL is required in production");
    if (c.AUTH_JWT_SECRET === DEV_JWT_SECRET) problems.push("AUTH_JWT_SECRET must not be the development secret in production");
    if (!c.AUTH_ISSUER) problems.push("AUTH_ISSUER is required in production");
    if (!c.AUTH_AUDIENCE) problems.push("AUTH_AUDIENCE is required in production");
  }
  if (production && c.AUTH_JWKS_URL && !c.AUTH_JWKS_URL.startsWith("https://"))
    problems.push("AUTH_JWKS_URL must be https:// in production: whoever serves the keys decides who is who");
  // A forgotten EVENTLINE_ENV must not open a deployed API to the public development secret: beyond
  // loopback it is used only when development is asked for by name.
  const development = c.EVENTLINE_ENV === "development" || c.EVENTLINE_ENV === "test";
  if (!production && !development && !c.AUTH_JWT_SECRET && !c.AUTH_JWKS_URL && !LOOPBACK.test(env.HOST ?? "127.0.0.1"))
    problems.push(
      `AUTH_JWT_SECRET or AUTH_JWKS_URL is required when HOST (${env.HOST}) is not loopback; EVENTLINE_ENV=development allows the development secret`,
    );
  if (problems.length) throw new ConfigError(problems);
  const secret = c.AUTH_JWKS_URL ? undefined : (c.AUTH_JWT_SECRET ?? DEV_JWT_SECRET);
  return {
    jwt: {
      secret,
      jwksUrl: c.AUTH_JWKS_URL,
      issuer: c.AUTH_ISSUER ?? DEV_ISSUER,
      audience: c.AUTH_AUDIENCE ?? DEV_AUDIENCE,
      clockSkewSeconds: c.AUTH_CLOCK_SKEW_SECONDS,
      rolesClaim: c.AUTH_ROLES_CLAIM,
    },
    devSecret: secret === DEV_JWT_SECRET,
    production,
    corsOrigins: c.CORS_ORIGINS ?? [],
  };
}
