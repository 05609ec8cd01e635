import { describe, expect, it } from "bun:test";
import { DEV_JWT_SECRET, loadAuthConfig } from "../src/auth-config.ts";
import { loadConfig } from "../src/config.ts";
import type { ConfigError } from "../src/core/errors.ts";

const valid = { DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db", AMQP_URL: "amqp://u:p@127.0.0.1:5672" };
const realSecret = "a-real-secret-from-the-vault-0123456789";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...valid, ...env });
  } catch (error) {
    return (error as ConfigError).problems;
  }
  return [];
}

describe("authentication settings", () => {
  it("verify with the development secret on a laptop, and say so", () => {
    const auth = loadConfig(valid).auth;
    expect(auth).toMatchObject({ devSecret: true, production: false, corsOrigins: [] });
    expect(auth.jwt).toMatchObject({
      secret: DEV_JWT_SECRET,
      issuer: "eventline-dev",
      audience: "eventline",
      clockSkewSeconds: 30,
    });
  });

  it("refuse to start in production without a real secret, issuer and audience", () => {
    expect(problemsOf({ EVENTLINE_ENV: "production" })).toEqual([
      "AUTH_JWT_SECRET or AUTH_JWKS_URL is required in production",
      "AUTH_ISSUER is required in production",
      "AUTH_AUDIENCE is required in production",
    ]);
    expect(problemsOf({ NODE_ENV: "production", AUTH_JWT_SECRET: DEV_JWT_SECRET, AUTH_ISSUER: "i", AUTH_AUDIENCE: "a" })).toEqual(
      ["AUTH_JWT_SECRET must not be the development secret in production"],
    );
    expect(
      problemsOf({
        EVENTLINE_ENV: "production",
        AUTH_JWT_SECRET: realSecret,
        AUTH_ISSUER: "i",
        AUTH_AUDIENCE: "a",
        ADMIN_TOKEN: "sixteen-chars-ok",
      }),
    ).toEqual(["ADMIN_TOKEN must be at least 32 characters in production"]);
    const prod = loadConfig({
      ...valid,
      EVENTLINE_ENV: "production",
      AUTH_JWT_SECRET: realSecret,
      AUTH_ISSUER: "i",
      AUTH_AUDIENCE: "a",
    });
    expect(prod.auth).toMatchObject({
      production: true,
      devSecret: false,
      jwt: { secret: realSecret, issuer: "i", audience: "a" },
    });
  });

  it("refuse the development secret for an API listening beyond loopback unless development is asked for", () => {
    expect(problemsOf({ HOST: "0.0.0.0" })).toEqual([
      "AUTH_JWT_SECRET or AUTH_JWKS_URL is required when HOST (0.0.0.0) is not loopback; EVENTLINE_ENV=development allows the development secret",
    ]);
    expect(loadConfig({ ...valid, HOST: "0.0.0.0", EVENTLINE_ENV: "development" }).auth.devSecret).toBe(true);
    expect(loadConfig({ ...valid, HOST: "0.0.0.0", AUTH_JWT_SECRET: realSecret }).auth.devSecret).toBe(false);
    expect(
      problemsOf({
        EVENTLINE_ENV: "production",
        AUTH_JWKS_URL: "http://id.example.com/jwks",
        AUTH_ISSUER: "i",
        AUTH_AUDIENCE: "a",
      }),
    ).toEqual(["AUTH_JWKS_URL must be https:// in production: whoever serves the keys decides who is who"]);
  });

  it("refuse a short secret, both a secret and a key set, a skew over five minutes and a bad origin, with eventline's other problems", () => {
    expect(problemsOf({ AUTH_JWT_SECRET: "short", PORT: "x" })).toEqual([
      "PORT must be a whole number",
      "AUTH_JWT_SECRET must be at least 32 characters",
    ]);
    expect(problemsOf({ AUTH_JWT_SECRET: realSecret, AUTH_JWKS_URL: "https://id.example.com/jwks" })).toEqual([
      "AUTH_JWT_SECRET and AUTH_JWKS_URL: set one, not both",
    ]);
    expect(problemsOf({ AUTH_CLOCK_SKEW_SECONDS: "301" })).toEqual(["AUTH_CLOCK_SKEW_SECONDS must be at most 300"]);
    expect(problemsOf({ CORS_ORIGINS: "https://ok.example.com, *" })[0]).toStartWith(
      "CORS_ORIGINS (item 2) must be origins like",
    );
  });

  it("take a key set instead of a secret, and an allow-list of origins", () => {
    const auth = loadAuthConfig({
      AUTH_JWKS_URL: "https://id.example.com/jwks",
      CORS_ORIGINS: "https://a.example.com,http://localhost:5173",
    });
    expect(auth.jwt.secret).toBeUndefined();
    expect(auth.devSecret).toBe(false);
    expect(auth.corsOrigins).toEqual(["https://a.example.com", "http://localhost:5173"]);
  });
});
