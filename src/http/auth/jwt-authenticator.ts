import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { AuthenticationError, EventlineError } from "../../core/errors.ts";
import type { Authenticator, Identity } from "./identity.ts";

/** How bearer JWTs are verified: one HS256 secret or an identity provider's JWKS, and the claims required. */
export type JwtOptions = {
  /** A shared HS256 secret (at least 32 characters). */
  secret?: string;
  /** The identity provider's key set; tokens are then signed with its asymmetric keys. */
  jwksUrl?: string;
  issuer: string;
  audience: string;
  /** How far `exp` and `nbf` may be off from this clock. */
  clockSkewSeconds: number;
  /** The claim holding the roles, an array of strings (default `roles`). */
  rolesClaim?: string;
  /** Verified tokens remembered until they expire (default 10,000; 0 remembers none). */
  cacheSize?: number;
  /** The clock, in milliseconds (tests move it). */
  now?: () => number;
};

type Remembered = { identity: Identity; validFromMs: number; validUntilMs: number };

// A key set only ever verifies asymmetric signatures, so a token cannot switch to HS256 and use a public key as the secret.
const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

/**
 * Verifies bearer JWTs with jose: signature under the one allowed algorithm family (unsigned `alg: none`
 * tokens never verify), issuer, audience, `exp` required, `nbf` honoured, both within the clock skew.
 */
export function createJwtAuthenticator(options: JwtOptions): Authenticator {
  if (Boolean(options.secret) === Boolean(options.jwksUrl)) throw new TypeError("give exactly one of secret or jwksUrl");
  // Imported once: jose would otherwise import the raw secret again for every token.
  const key: Promise<CryptoKey> | JWTVerifyGetKey = options.secret
    ? crypto.subtle.importKey("raw", new TextEncoder().encode(options.secret), { name: "HMAC", hash: "SHA-256" }, false, [
        "verify",
      ])
    : createRemoteJWKSet(new URL(options.jwksUrl as string));
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.secret ? ["HS256"] : ASYMMETRIC,
    clockTolerance: options.clockSkewSeconds,
    requiredClaims: ["sub", "exp"],
  };
  const rolesClaim = options.rolesClaim ?? "roles";
  const now = options.now ?? Date.now;
  const skewMs = options.clockSkewSeconds * 1000;
  // A client sends the same token for an hour of requests; checking its signature once per process, and
  // only its time window on each request after, takes the cost of verifying off nearly every request.
  const cacheSize = options.cacheSize ?? 10_000;
  const remembered = new Map<string, Remembered>();

  async function verify(token: string): Promise<Identity> {
    const { payload } = await jwtVerify(token, (key instanceof Promise ? await key : key) as CryptoKey, {
      ...verifyOptions,
      currentDate: new Date(now()),
    });
    if (typeof payload.sub !== "string" || payload.sub.length === 0)
      throw new AuthenticationError("the bearer token names no subject", "invalid_token");
    const roles = payload[rolesClaim];
    const identity = {
      subject: payload.sub,
      roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === "string") : [],
    };
    if (cacheSize > 0) {
      if (remembered.size >= cacheSize) remembered.delete(remembered.keys().next().value as string);
      remembered.set(token, {
        identity,
        validFromMs: payload.nbf === undefined ? 0 : payload.nbf * 1000 - skewMs,
        validUntilMs: (payload.exp as number) * 1000 + skewMs,
      });
    }
    return identity;
  }

  return async (token) => {
    const known = remembered.get(token);
    if (known) {
      const at = now();
      if (at >= known.validFromMs && at <= known.validUntilMs) return known.identity;
      remembered.delete(token);
    }
    try {
      return await verify(token);
    } catch (error) {
      if (error instanceof AuthenticationError) throw error;
      // The key set could not be fetched: the token may be fine, so this is our outage, not the caller's fault.
      const fetchFailed = options.jwksUrl !== undefined && !(error instanceof errors.JOSEError);
      if (fetchFailed || error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid)
        throw new EventlineError("AUTH_UNAVAILABLE", "the identity provider's keys could not be fetched");
      if (error instanceof errors.JOSEError) throw new AuthenticationError(refusal(error), "invalid_token");
      throw new AuthenticationError("the bearer token is malformed", "invalid_token");
    }
  };
}

function refusal(error: InstanceType<typeof errors.JOSEError>): string {
  if (error instanceof errors.JWTExpired) return "the bearer token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `the bearer token's ${error.claim} claim is not acceptable`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "the bearer token is signed with an algorithm this API does not take";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the bearer token's signature does not verify";
  return "the bearer token is malformed";
}
