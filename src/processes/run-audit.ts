import { type AuditFinding, auditFromStart } from "../consumers/audit.ts";
import type { ConsumerDefinition } from "../consumers/consumer-definition.ts";
import { sagaStarter } from "../sagas/saga-starter.ts";
import { type ProcessContext, wireProcess } from "./process-kit.ts";

export const auditUsage = "audit [read-model] [--json] [--lag-seconds <n>]";

const describe = (f: AuditFinding) =>
  f.kind === "missing"
    ? `  missing  ${f.streamId}@${f.version} ${f.type} (position ${f.position}, ${f.occurredAt}, event ${f.eventId})`
    : `  unknown  ${f.streamId}@${f.applied}: the store has version ${f.inStore}`;

/**
 * `audit`: every read model (and saga starter) against the store. Lists each event older than the lag
 * that it has not applied and each stream version it claims that the store does not have; exit 1 on any.
 */
export async function runAudit(ctx: ProcessContext, args: string[]): Promise<void> {
  let json = false;
  let lagText: string | undefined;
  const named: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--json") json = true;
    else if (a === "--lag-seconds") lagText = args[++i] ?? "";
    else named.push(a);
  }
  if ((lagText !== undefined && !/^\d+$/.test(lagText)) || named.length > 1 || named.some((n) => n.startsWith("--"))) {
    process.stderr.write(`usage: ${auditUsage}\n`);
    process.exitCode = 2;
    return;
  }
  const wired = wireProcess(ctx, "cli", 4);
  try {
    const starters = wired
      .sagas()
      .filter((s) => s.start)
      .map((s) => sagaStarter(s, `${ctx.config.notifyChannel}_sagas`));
    const all: ConsumerDefinition[] = [...wired.readModels, ...starters];
    const which = named[0];
    const defs = which ? all.filter((d) => d.name === which) : all;
    if (which && defs.length === 0) {
      process.stderr.write(`usage: ${auditUsage}\nread models: ${all.map((d) => d.name).join(", ")}\n`);
      process.exitCode = 2;
      return;
    }
    const lagMs = lagText === undefined ? ctx.config.auditLagMs : Number(lagText) * 1000;
    const reports = [];
    for (const def of defs) {
      const r = await auditFromStart({ store: wired.store, sql: wired.db.readSql, def }, lagMs);
      reports.push({ readModel: def.name, eventsChecked: r.eventsChecked, findings: r.findings });
    }
    const findings = reports.reduce((n, r) => n + r.findings.length, 0);
    if (json) process.stdout.write(`${JSON.stringify({ lagSeconds: lagMs / 1000, findings, readModels: reports }, null, 2)}\n`);
    else
      for (const r of reports) {
        process.stdout.write(`${r.readModel}: ${r.eventsChecked} events checked, ${r.findings.length} findings\n`);
        for (const f of r.findings) process.stdout.write(`${describe(f)}\n`);
      }
    if (findings > 0) process.exitCode = 1;
  } finally {
    await wired.end();
  }
}
