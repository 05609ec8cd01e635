/** Latency percentiles and throughput of an operation run by `concurrency` workers, `total` times. */
export type Measured = { ops: number; seconds: number; perSecond: number; p50Ms: number; p99Ms: number };

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export function summarize(latencies: number[], seconds: number): Measured {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    ops: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}

/**
 * Runs `op` on `concurrency` workers, with indices counting up from `from`, while `more(i)` holds for the
 * next index i; its latencies and the seconds it took.
 */
async function timeWorkers(concurrency: number, op: (i: number) => Promise<unknown>, more: (i: number) => boolean, from = 0) {
  const latencies: number[] = [];
  let next = from;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (more(next)) {
        const i = next++;
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

/** `op` for i = 0 … total - 1 on `concurrency` workers. */
export async function runConcurrent(concurrency: number, total: number, op: (i: number) => Promise<unknown>): Promise<Measured> {
  const { latencies, seconds } = await timeWorkers(concurrency, op, (i) => i < total);
  return summarize(latencies, seconds);
}

/**
 * Measures several contenders in alternating rounds (A, B, C, A, B, C, …), so a slow spell of a shared
 * machine falls on all of them instead of on whichever ran at that moment. In each round every contender
 * runs for the same time (no operation starts after it), not the same count: with equal counts,
 * eventline's rounds at concurrency 256 lasted about half a second against Emmett's six, and one slow half
 * second decided the ratio. A contender's indices never repeat across its rounds.
 */
export async function runAlternatingFor(
  contenders: ((i: number) => Promise<unknown>)[],
  concurrency: number,
  secondsPerRound: number,
  rounds: number,
): Promise<Measured[]> {
  const sums = contenders.map(() => ({ latencies: [] as number[], seconds: 0 }));
  for (let r = 0; r < rounds; r++) {
    for (const [k, op] of contenders.entries()) {
      const sum = sums[k] as (typeof sums)[number];
      const deadline = performance.now() + secondsPerRound * 1000;
      const { latencies, seconds } = await timeWorkers(concurrency, op, () => performance.now() < deadline, sum.latencies.length);
      sum.latencies.push(...latencies);
      sum.seconds += seconds;
    }
  }
  return sums.map((s) => summarize(s.latencies, s.seconds));
}

/** `total` split into `rounds` sizes that differ by at most one and add up to `total`. */
export function splitIntoRounds(total: number, rounds: number): number[] {
  return Array.from({ length: rounds }, (_, r) => Math.floor(total / rounds) + (r < total % rounds ? 1 : 0));
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
