import { Gauge, type Registry } from "prom-client";
import type { Liveness } from "../core/liveness.ts";
import type { Logger } from "../log.ts";

export type LivenessWatch = { stop(): void };

/**
 * Exports `eventline_live` and `eventline_stalled_seconds`, and checks the process's liveness every
 * second: logs a part that stalls and one that recovers, and exits 1 once a part has been stalled for
 * `exitAfterMs` (0: never), so the supervisor restarts what could not recover by itself.
 */
export function watchLiveness(
  liveness: Liveness,
  options: { exitAfterMs: number; log: Logger; registry: Registry; exit?: (code: number) => void; everyMs?: number },
): LivenessWatch {
  const { log } = options;
  // Read at scrape time, so a scrape and /health never disagree.
  new Gauge({
    name: "eventline_live",
    help: "1 while no part of the process has had work waiting without progress for longer than the stall time",
    registers: [options.registry],
    collect() {
      this.set(liveness.report().live ? 1 : 0);
    },
  });
  new Gauge({
    name: "eventline_stalled_seconds",
    help: "How long past the stall time each stalled part has gone without progress",
    labelNames: ["part"],
    registers: [options.registry],
    collect() {
      this.reset();
      for (const s of liveness.report().stalled) this.set({ part: s.part }, s.stalledMs / 1000);
    },
  });
  let stalledBefore = new Set<string>();
  const timer = setInterval(() => {
    const report = liveness.report();
    const now = new Set(report.stalled.map((s) => s.part));
    for (const s of report.stalled) {
      if (!stalledBefore.has(s.part)) log("error", "stalled: work is waiting and nothing has moved", { part: s.part });
      if (options.exitAfterMs > 0 && s.stalledMs >= options.exitAfterMs) {
        log("error", "stalled for too long, exiting for a restart", { part: s.part, stalledMs: s.stalledMs });
        (options.exit ?? process.exit)(1);
      }
    }
    for (const part of stalledBefore) if (!now.has(part)) log("info", "moving again", { part });
    stalledBefore = now;
  }, options.everyMs ?? 1_000);
  // The watch alone never keeps a process running.
  (timer as { unref?: () => void }).unref?.();
  return { stop: () => clearInterval(timer) };
}
