import { createJwtAuthenticator, type JwtOptions, signToken } from "../../src/hono.ts";
import { SHOP_ROLES } from "../../examples/shop/http/shop-access.ts";

/** The settings the in-process tests verify tokens with. */
export const TEST_JWT: JwtOptions & { secret: string } = {
  secret: "test-secret-for-the-suite-0123456789abcdef",
  issuer: "eventline-test",
  audience: "eventline-test-api",
  clockSkewSeconds: 5,
};

export const testAuthenticator = createJwtAuthenticator(TEST_JWT);

/** A bearer header for a subject with roles, signed with the suite's secret. */
export async function bearerFor(subject: string, roles: string[] = []): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await signToken(TEST_JWT, { subject, roles })}` };
}

/** Every staff role of the shop: what most shop tests act as, so they read as before. */
export const STAFF = SHOP_ROLES as unknown as string[];
