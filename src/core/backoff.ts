/** Exponential backoff with a cap: how long a retry waits. */
export type Backoff = { baseMs: number; maxMs: number };

/**
 * The wait before retry number `attempt` (1 for the first retry): `baseMs * 2^(attempt-1)`, capped at
 * `maxMs`, then jittered down to between half and all of it, so many clients failing together spread out.
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const exponential = backoff.baseMs * 2 ** Math.max(0, attempt - 1);
  return Math.min(backoff.maxMs, exponential) * (0.5 + random() / 2);
}
