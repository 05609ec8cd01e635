import { SHOP_ROLES } from "../examples/shop/http/shop-access.ts";
import { loadAuthConfig } from "../src/auth-config.ts";
import { signToken } from "../src/http/auth/sign-token.ts";

/**
 * An Authorization header for a subject with roles, signed with what the started processes verify with:
 * AUTH_JWT_SECRET from `env`, else the development secret.
 */
export async function bearer(
  subject: string,
  roles: readonly string[] = [],
  env: Record<string, string | undefined> = process.env,
): Promise<{ authorization: string }> {
  const { secret, issuer, audience, rolesClaim } = loadAuthConfig(env).jwt;
  if (!secret) throw new Error("bearer() signs with AUTH_JWT_SECRET; it cannot sign for AUTH_JWKS_URL");
  return { authorization: `Bearer ${await signToken({ secret, issuer, audience, rolesClaim }, { subject, roles: [...roles] })}` };
}

/** A staff member holding every shop role: what load scripts seed the catalog and stock as. */
export const staffBearer = (env?: Record<string, string | undefined>) => bearer("staff-script", SHOP_ROLES, env);
