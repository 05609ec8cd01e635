/** The issue's targets, checked against one run's results, so a run says for itself what it met. */
import type { AppendRow } from "./appends.ts";
import { COMMANDS_PER_CHECKOUT, type CheckoutsResult } from "./checkouts.ts";
import { HTTP_TARGETS, type HttpRow } from "./http.ts";
import type { ReadModelResult } from "./read-model.ts";
import type { RebuildResult } from "./rebuild.ts";
import type { PeakMemoryRow } from "./peak-memory.ts";
import type { RelayResult } from "./relay.ts";
import type { SnapshotRow } from "./snapshots.ts";

export type BenchResults = {
  appends: AppendRow[];
  http: HttpRow[];
  tracingOff?: { perCommandUs: number; withTraceparentUs: number };
  relay: RelayResult;
  readModel: ReadModelResult[];
  rebuild: RebuildResult[];
  snapshots: SnapshotRow[];
  queries?: HttpRow[];
  checkouts?: CheckoutsResult;
  peakMemory?: PeakMemoryRow[];
};

export type TargetCheck = { target: string; measured: string; met: boolean };

const k = (n: number) => `${(n / 1000).toFixed(1)}k`;
const ms = (n: number) => `${n.toFixed(1)} ms`;

export function checkTargets(r: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const add = (target: string, measured: string, met: boolean) => checks.push({ target, measured, met });

  const at256 = (prefix: string) => r.appends.find((a) => a.concurrency === 256 && a.path.startsWith(prefix));
  const ours = at256("eventline");
  const emmett = at256("emmett");
  if (ours) {
    add("appends at concurrency 256: at least 20k/s", `${k(ours.perSecond)}/s`, ours.perSecond >= 20_000);
    add("appends at concurrency 256: p99 at most 50 ms", ms(ours.p99Ms), ours.p99Ms <= 50);
  }
  if (ours && emmett) {
    const ratio = ours.perSecond / emmett.perSecond;
    add("appends at concurrency 256: at least 10x Emmett", `${ratio.toFixed(1)}x (Emmett ${k(emmett.perSecond)}/s)`, ratio >= 10);
  }
  const oneStatement = at256("one SQL statement");
  if (ours && oneStatement) {
    const ratio = ours.perSecond / oneStatement.perSecond;
    add(
      "appends at concurrency 256: at least 3x the one-statement baseline",
      `${ratio.toFixed(2)}x (one statement ${k(oneStatement.perSecond)}/s)`,
      ratio >= 3,
    );
  }

  // The issue names no connection count for HTTP: the target is met if one of the counts measured meets
  // both halves of it. Every count is listed, so a miss at one of them stays visible.
  const api = r.http.filter((h) => h.target === HTTP_TARGETS.api);
  if (api.length > 0) {
    const meets = (h: HttpRow) => h.perSecond >= 8_000 && h.p99Ms <= 50 && h.non2xx === 0;
    add(
      "HTTP commands: at least 8k/s with p99 at most 50 ms",
      api.map((h) => `${h.connections} conns ${k(h.perSecond)}/s p99 ${ms(h.p99Ms)}${meets(h) ? "" : " (miss)"}`).join("; "),
      api.some(meets),
    );
  }

  // A request's time at saturation is 1/(req/s) on both apps, so the pair of constant apps gives what
  // verifying one token adds, on the same scale as one command's time.
  const plain = r.http.find((h) => h.target === HTTP_TARGETS.constant);
  const verifying = r.http.find((h) => h.target === HTTP_TARGETS.constantVerifying);
  const command = api.find((h) => h.connections === plain?.connections);
  if (plain && verifying && command && plain.perSecond > 0 && verifying.perSecond > 0 && command.perSecond > 0) {
    const verifyUs = 1e6 / verifying.perSecond - 1e6 / plain.perSecond;
    const commandUs = 1e6 / command.perSecond;
    add(
      "verifying a token costs at most a tenth of a command's time",
      `${verifyUs.toFixed(1)} µs of a ${commandUs.toFixed(0)} µs command (${((verifyUs / commandUs) * 100).toFixed(1)}%)`,
      verifyUs <= commandUs / 10,
    );
  }

  // OpenTelemetry off: its calls timed alone, against one command's time in the same run; and what
  // exporting every span costs, the same API with and without it.
  if (command && command.perSecond > 0 && r.tracingOff) {
    const commandUs = 1e6 / command.perSecond;
    const share = r.tracingOff.perCommandUs / commandUs;
    const traced = r.tracingOff.withTraceparentUs / commandUs;
    add(
      "OpenTelemetry off costs nothing measurable: at most 1% of a command's time (as the benchmark's requests come, no traceparent)",
      `${r.tracingOff.perCommandUs.toFixed(2)} µs of a ${commandUs.toFixed(0)} µs command (${(share * 100).toFixed(2)}%); with a caller's traceparent ${r.tracingOff.withTraceparentUs.toFixed(2)} µs (${(traced * 100).toFixed(2)}%)`,
      share <= 0.01,
    );
  }
  const traced = r.http.find((h) => h.target === HTTP_TARGETS.apiTraced);
  const untraced = api.find((h) => h.connections === traced?.connections);
  if (traced && untraced && untraced.perSecond > 0)
    add(
      "OpenTelemetry on (exporting every span): reported, no target",
      `${k(traced.perSecond)}/s against ${k(untraced.perSecond)}/s off (${Math.round((traced.perSecond / untraced.perSecond) * 100)}%), p99 ${ms(traced.p99Ms)}`,
      true,
    );

  add("relay: at least 90% of plain amqplib", `${Math.round(r.relay.ratio * 100)}%`, r.relay.ratio >= 0.9);
  // Measured to delivery at a consumer: a stricter end point than the issue's confirm, never a kinder one.
  add("relay: idle p99 at most 20 ms (commit→delivered)", ms(r.relay.idleP99Ms), r.relay.idleP99Ms <= 20);

  for (const m of r.readModel.filter((m) => m.rate === 1_000)) {
    add(`commit→read model (${m.handler}) at 1k/s: p99 at most 100 ms`, ms(m.p99Ms), m.p99Ms <= 100);
  }
  // The issue's rebuild is over 1M events: the largest log rebuilt is the one it means.
  const rebuild = [...r.rebuild].sort((a, b) => b.events - a.events)[0];
  if (rebuild)
    add(
      `rebuild (${rebuild.handler}, ${rebuild.events} events): at least 50k/s`,
      `${k(rebuild.perSecond)}/s`,
      rebuild.perSecond >= 50_000,
    );
  const byHandler = (rows: { handler: string }[], handler: string) => rows.find((x) => x.handler === handler);
  const [setBased, perEvent] = ["set-based (handleBatch)", "one upsert per event"];
  const rebuildSet = byHandler(r.rebuild, setBased) as RebuildResult | undefined;
  const rebuildEach = byHandler(r.rebuild, perEvent) as RebuildResult | undefined;
  if (rebuildSet && rebuildEach) {
    const share = rebuildEach.perSecond / rebuildSet.perSecond;
    add(
      "rebuild, one upsert per event: at least 30% of the set-based rebuild's events/s",
      `${k(rebuildEach.perSecond)}/s against ${k(rebuildSet.perSecond)}/s (${Math.round(share * 100)}%)`,
      share >= 0.3,
    );
  }
  const heldSet = (byHandler(r.readModel, setBased) as ReadModelResult | undefined)?.highestSustainedRate;
  const heldEach = (byHandler(r.readModel, perEvent) as ReadModelResult | undefined)?.highestSustainedRate;
  if (heldSet !== undefined && heldSet !== null && heldEach !== undefined && heldEach !== null)
    add(
      "one upsert per event: the highest rate held for a minute at least half the set-based one's",
      `${heldEach}/s against ${heldSet}/s`,
      heldEach >= heldSet / 2,
    );

  const command64 = api.find((h) => h.connections === 64);
  if (plain && command64 && plain.perSecond > 0) {
    const share = command64.perSecond / plain.perSecond;
    add(
      "HTTP commands at 64 connections: at least 20% of the constant app's req/s, p99 at most 50 ms",
      `${k(command64.perSecond)}/s, ${Math.round(share * 100)}% of ${k(plain.perSecond)}/s, p99 ${ms(command64.p99Ms)}`,
      share >= 0.2 && command64.p99Ms <= 50 && command64.non2xx === 0,
    );
  }
  for (const q of r.queries ?? []) {
    if (!plain || plain.perSecond === 0) break;
    const share = q.perSecond / plain.perSecond;
    add(
      `${q.target} at ${q.connections} connections: at least 50% of the constant app's req/s, p99 at most 20 ms, no non-2xx`,
      `${k(q.perSecond)}/s (${Math.round(share * 100)}%), p99 ${ms(q.p99Ms)}, ${q.non2xx} non-2xx`,
      share >= 0.5 && q.p99Ms <= 20 && q.non2xx === 0,
    );
  }
  const ceiling = Math.max(0, ...api.map((h) => h.perSecond));
  if (r.checkouts && ceiling > 0) {
    const commands = r.checkouts.highestHeldRate * COMMANDS_PER_CHECKOUT;
    const missed = r.checkouts.phases.find((p) => !p.held);
    add(
      `whole pipeline: the highest checkout rate held (every read model's p99 at most ${r.checkouts.boundMs} ms, no backlog growing), as commands, at least 40% of the HTTP command ceiling`,
      `${r.checkouts.highestHeldRate} checkouts/s = ${commands} commands/s, ${Math.round((commands / ceiling) * 100)}% of ${k(ceiling)}/s${missed ? `; missed at ${missed.rate}/s` : ""}`,
      commands / ceiling >= 0.4,
    );
  }
  if (r.peakMemory && r.peakMemory.length > 0) {
    const over = r.peakMemory.filter((m) => m.peakRssMb > 150);
    const top = [...r.peakMemory].sort((a, b) => b.peakRssMb - a.peakRssMb)[0] as PeakMemoryRow;
    add(
      "every process's peak RSS at most 150 MB",
      `highest ${top.process} (${top.section}) ${Math.round(top.peakRssMb)} MB${over.length ? `; over: ${over.map((m) => `${m.process} (${m.section})`).join(", ")}` : ""}`,
      over.length === 0,
    );
  }

  const big = r.snapshots.find((s) => s.events === 10_000);
  if (big) add("10,000-event stream with snapshots loads in at most 5 ms", `${big.withMs.toFixed(2)} ms`, big.withMs <= 5);
  return checks;
}
