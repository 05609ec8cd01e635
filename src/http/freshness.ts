import type { Context } from "hono";
import { ValidationError } from "../core/errors.ts";

/** Whether a consumer has applied every event it binds up to a position. */
export type AppliedCheck = (consumer: string, position: number) => Promise<boolean>;

export const FRESHNESS_HEADER = "eventline-freshness";

/**
 * Read-your-writes: with `?after=<position>` a query waits (bounded, default 2 s) until the read models it
 * reads have applied that position. The `Eventline-Freshness` header says `fresh` or `stale`.
 */
export async function awaitFreshness(
  c: Context,
  deps: { hasApplied: AppliedCheck; consumers: string[]; timeoutMs?: number },
): Promise<void> {
  const after = c.req.query("after");
  if (after === undefined) return;
  if (!/^\d+$/.test(after) || !Number.isSafeInteger(Number(after))) {
    throw new ValidationError("after must be a position (a whole number)", [{ pointer: "/after", message: "not a position" }]);
  }
  const position = Number(after);
  const deadline = Date.now() + (deps.timeoutMs ?? 2_000);
  for (;;) {
    const applied = await Promise.all(deps.consumers.map((name) => deps.hasApplied(name, position)));
    if (applied.every(Boolean)) {
      c.header(FRESHNESS_HEADER, "fresh");
      return;
    }
    if (Date.now() >= deadline) {
      c.header(FRESHNESS_HEADER, "stale");
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
