/**
 * Whether a read model fell behind a steady load: its backlog (events committed but not yet applied),
 * sampled at even intervals through the load, grew by more than half a second's worth of the rate from the
 * first third of the samples to the last. Medians, so that one stall of the disk, whose backlog drains
 * again, moves neither end; a consumer slower than the load grows its backlog steadily and moves both.
 */
export function backlogGrew(samples: number[], perSecond: number): boolean {
  if (samples.length < 3) throw new Error("backlogGrew needs at least three samples");
  const third = Math.floor(samples.length / 3);
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  };
  return median(samples.slice(-third)) - median(samples.slice(0, third)) > perSecond / 2;
}
