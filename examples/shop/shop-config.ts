import { ConfigError } from "eventline";
import * as v from "valibot";

/** The shop's own settings: where the saga finds the payment provider, and the provider's port. */
export type ShopConfig = { paymentProvider: { url?: string; port: number } };

const Schema = v.object({
  PAYMENT_PROVIDER_URL: v.optional(
    v.pipe(
      v.string(),
      v.url("must be a URL"),
      v.check((s) => /^https?:\/\//.test(s), "must start with http:// or https://"),
    ),
  ),
  PAYMENT_PROVIDER_PORT: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, "must be a whole number"),
      v.transform(Number),
      v.maxValue(65535, "must be at most 65535"),
    ),
    "9467",
  ),
});

/** Parses the shop's settings; a bad one is a ConfigError, listed with eventline's own at start-up. */
export function loadShopConfig(env: Record<string, string | undefined>): ShopConfig {
  const parsed = v.safeParse(Schema, env);
  if (!parsed.success) {
    throw new ConfigError(parsed.issues.map((i) => `${i.path?.map((p) => String(p.key)).join(".")} ${i.message}`));
  }
  return { paymentProvider: { url: parsed.output.PAYMENT_PROVIDER_URL, port: parsed.output.PAYMENT_PROVIDER_PORT } };
}
