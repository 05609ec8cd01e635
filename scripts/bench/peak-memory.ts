/** Each process the benchmark started, with the most memory it held resident (read just before it stops). */
import type { RunningProcess } from "../process-runner.ts";

export type PeakMemoryRow = { section: string; process: string; peakRssMb: number };

/** The rows so far; a section adds its processes with `notePeaks` before it stops them. */
export const peakMemory: PeakMemoryRow[] = [];

export function notePeaks(section: string, processes: Iterable<Pick<RunningProcess, "name" | "peakRssMb">>): void {
  for (const p of processes) {
    const peak = p.peakRssMb();
    if (peak !== null) peakMemory.push({ section, process: p.name, peakRssMb: peak });
  }
}
