/** CPU time by process over a stretch of the benchmark, from /proc (Linux only), to say where a limit is. */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

/** user + system clock ticks of a process, or 0 once it is gone. */
function ticksOf(pid: number): number {
  try {
    // The command name (field 2) is in parentheses and may hold spaces; the counters follow the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The PIDs of every process whose command name is `comm` (the servers: postgres, beam.smp). */
function pidsNamed(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === comm) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** A clock over these processes and the servers; `stop()` gives each one's share of one core, in %. */
export function cpuClock(processes: { name: string; pid: number }[]): { stop(): Record<string, number> } {
  const groups = () => [
    ...processes.map((p) => ({ name: p.name, pids: [p.pid] })),
    { name: "bench driver (wrk, fetch)", pids: [process.pid] },
    { name: "postgres", pids: pidsNamed("postgres") },
    { name: "rabbitmq", pids: pidsNamed("beam.smp") },
  ];
  const sum = (pids: number[]) => pids.reduce((s, pid) => s + ticksOf(pid), 0);
  const before = new Map<number, number>();
  for (const g of groups()) for (const pid of g.pids) before.set(pid, ticksOf(pid));
  const started = performance.now();
  return {
    stop() {
      const seconds = (performance.now() - started) / 1000;
      const shares: Record<string, number> = {};
      for (const g of groups()) {
        const used = sum(g.pids) - g.pids.reduce((s, pid) => s + (before.get(pid) ?? 0), 0);
        shares[g.name] = Math.round((100 * used) / TICKS_PER_SECOND / seconds);
      }
      return shares;
    },
  };
}
