import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { loadAuthConfig } from "../../src/auth-config.ts";
import { createJwtAuthenticator } from "../../src/http/auth/jwt-authenticator.ts";

const main = join(import.meta.dirname, "..", "..", "examples", "shop", "main.ts");

/** The shop's CLI with nothing but PATH set: no database, no broker. */
function token(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([process.execPath, main, "token", ...args], { env: { PATH: process.env.PATH ?? "", ...env } });
  return { status: r.exitCode, out: r.stdout.toString().trim(), err: r.stderr.toString() };
}

describe("the token command", () => {
  it("prints a token for a customer and roles that the API's own check accepts, with no server configured", async () => {
    const customerId = crypto.randomUUID();
    const r = token(["--customer", customerId, "--role", "support", "--role", "shipping"]);
    expect(r.status).toBe(0);
    const identity = await createJwtAuthenticator(loadAuthConfig({}).jwt)(r.out);
    expect(identity).toEqual({ subject: customerId, roles: ["support", "shipping"] });
  });

  it("signs with AUTH_JWT_SECRET when one is set", async () => {
    const env = { AUTH_JWT_SECRET: "the-team-secret-for-staging-0123456789", AUTH_ISSUER: "staging", AUTH_AUDIENCE: "shop" };
    const r = token(["--role", "catalog"], env);
    expect(await createJwtAuthenticator(loadAuthConfig(env).jwt)(r.out)).toEqual({
      subject: "staff-catalog",
      roles: ["catalog"],
    });
    await expect(createJwtAuthenticator(loadAuthConfig({}).jwt)(r.out)).rejects.toThrow();
  });

  it("refuses a role the app does not have, and production without a secret", () => {
    const unknown = token(["--role", "root"]);
    expect(unknown.status).toBe(2);
    expect(unknown.err).toContain("unknown role root");
    const production = token(["--role", "catalog"], { EVENTLINE_ENV: "production" });
    expect(production.status).toBe(1);
    expect(production.err).toContain("AUTH_JWT_SECRET or AUTH_JWKS_URL is required in production");
  });
});
