/**
 * How busy the machine was while a section ran, from Linux's /proc/stat: the share of all cores' time
 * spent working, waiting on the disk (iowait) and taken by the hypervisor (steal). A section that missed a
 * target during a spell of iowait missed it on the disk, not in the code (2026-12-01: a 2-second flush,
 * with both cores in iowait, was behind one of the HTTP runs' p99 misses).
 */
import { readFileSync } from "node:fs";

export type CpuTicks = { busy: number; iowait: number; steal: number; total: number };
export type MachineLoad = {
  busyPct: number;
  iowaitPct: number;
  stealPct: number;
  /** The highest iowait share over any of the sampling intervals: a short stall hides in the average. */
  peakIowaitPct: number;
};

/** The aggregate `cpu` line of /proc/stat, or null where there is none (not Linux). */
export function parseCpuLine(stat: string): CpuTicks | null {
  const line = stat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return null;
  // user nice system idle iowait irq softirq steal (guest time is already counted in user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busy, iowait, steal, total: busy + idle + iowait + steal };
}

const pctOf = (part: number, whole: number) => Math.round((1000 * part) / (whole || 1)) / 10;

/** The load over a series of samples taken in order: averages over the whole, iowait's peak per interval. */
export function loadOver(samples: CpuTicks[]): MachineLoad {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last) return { busyPct: 0, iowaitPct: 0, stealPct: 0, peakIowaitPct: 0 };
  const total = last.total - first.total;
  let peakIowaitPct = 0;
  for (let i = 1; i < samples.length; i++) {
    const [a, b] = [samples[i - 1] as CpuTicks, samples[i] as CpuTicks];
    if (b.total > a.total) peakIowaitPct = Math.max(peakIowaitPct, pctOf(b.iowait - a.iowait, b.total - a.total));
  }
  return {
    busyPct: pctOf(last.busy - first.busy, total),
    iowaitPct: pctOf(last.iowait - first.iowait, total),
    stealPct: pctOf(last.steal - first.steal, total),
    peakIowaitPct,
  };
}

function readTicks(): CpuTicks | null {
  try {
    return parseCpuLine(readFileSync("/proc/stat", "utf8"));
  } catch {
    return null;
  }
}

/**
 * Runs `section` and answers its result with the machine's load meanwhile, sampled every `everyMs` (null
 * off Linux).
 */
export async function withMachineLoad<T>(section: () => Promise<T>, everyMs = 500): Promise<[T, MachineLoad | null]> {
  const first = readTicks();
  if (!first) return [await section(), null];
  const samples = [first];
  const timer = setInterval(() => {
    const t = readTicks();
    if (t) samples.push(t);
  }, everyMs);
  try {
    const result = await section();
    const t = readTicks();
    if (t) samples.push(t);
    return [result, loadOver(samples)];
  } finally {
    clearInterval(timer);
  }
}
