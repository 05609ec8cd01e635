import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { AuthenticationError } from "../../src/core/errors.ts";
import { createJwtAuthenticator } from "../../src/http/auth/jwt-authenticator.ts";

let server: ReturnType<typeof Bun.serve>;
let keys: Awaited<ReturnType<typeof generateKeyPair>>;
const issuer = "https://id.example.test/";
const audience = "shop-api";

beforeAll(async () => {
  keys = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  // The identity provider's key set, served on loopback as a real one is over HTTPS.
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ keys: [jwk] }) });
});
afterAll(() => server.stop(true));

const rs256 = (claims: { exp?: number } = {}) =>
  new SignJWT({ roles: ["support"] })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setSubject("user-1")
    .setIssuer(issuer)
    .setAudience(audience)
    .setExpirationTime(claims.exp ?? "10m")
    .sign(keys.privateKey);

describe("bearer tokens verified against an identity provider's key set", () => {
  it("accept a token signed with the provider's key, with its subject and roles", async () => {
    const verify = createJwtAuthenticator({ jwksUrl: server.url.href, issuer, audience, clockSkewSeconds: 5 });
    expect(await verify(await rs256())).toEqual({ subject: "user-1", roles: ["support"] });
  });

  it("refuse a token switched to HS256 with the public key as its secret", async () => {
    const verify = createJwtAuthenticator({ jwksUrl: server.url.href, issuer, audience, clockSkewSeconds: 5 });
    const publicPem = await exportSPKI(keys.publicKey);
    const forged = await new SignJWT({ roles: ["admin"] })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setSubject("attacker")
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(publicPem));
    await expect(verify(forged)).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("allow the configured clock skew on expiry and no more", async () => {
    const verify = createJwtAuthenticator({ jwksUrl: server.url.href, issuer, audience, clockSkewSeconds: 30 });
    const now = Math.floor(Date.now() / 1000);
    expect((await verify(await rs256({ exp: now - 10 }))).subject).toBe("user-1");
    await expect(verify(await rs256({ exp: now - 60 }))).rejects.toThrow("expired");
  });

  it("answer a key set that cannot be fetched as an outage, not as the caller's bad token", async () => {
    const verify = createJwtAuthenticator({ jwksUrl: "http://127.0.0.1:9/jwks", issuer, audience, clockSkewSeconds: 5 });
    const error = await verify(await rs256()).catch((e) => e);
    expect(error).not.toBeInstanceOf(AuthenticationError);
    expect(error.code).toBe("AUTH_UNAVAILABLE");
  });
});
