import { SignJWT } from "jose";

/**
 * Signs an HS256 token with the shared secret, for local use and tests (`eventline token`); in production
 * an identity provider issues them.
 */
export async function signToken(
  options: { secret: string; issuer: string; audience: string; rolesClaim?: string },
  claims: { subject: string; roles?: string[]; expiresInSeconds?: number; notBefore?: Date },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ [options.rolesClaim ?? "roles"]: claims.roles ?? [] })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.subject)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expiresInSeconds ?? 3600));
  if (claims.notBefore) jwt.setNotBefore(Math.floor(claims.notBefore.getTime() / 1000));
  return jwt.sign(new TextEncoder().encode(options.secret));
}
