import { basename } from "node:path";
import type { AnyApp } from "./process-kit.ts";
import { auditUsage } from "./run-audit.ts";
import { tokenUsage } from "./run-token.ts";

export type CommandHelp = { usage: string; summary: string };

/** Every command of an app's CLI with its usage and what it does; `<command> --help` prints one of these. */
export function commandsOf(app: AnyApp): Record<string, CommandHelp> {
  const readModels = (app.readModels ?? []).map((d) => d.name);
  const own: Record<string, CommandHelp> = {
    migrate: {
      usage: "migrate",
      summary: "Apply database migrations (write database, and the read database when separate) and exit.",
    },
    api: {
      usage: "api",
      summary: "Serve the HTTP API on HOST:PORT (commands, queries, admin, /openapi.json, /docs, /health, /ready, /metrics).",
    },
    relay: { usage: "relay", summary: "Publish the outbox to RabbitMQ; /health and /metrics on RELAY_METRICS_PORT." },
    consumer: {
      usage: `consumer <${[...readModels, "all"].join("|")}>`,
      summary: "Keep read models from the events; /health and /metrics (with lag) on CONSUMER_METRICS_PORT.",
    },
    saga: {
      usage: "saga",
      summary: "Start the sagas from their start events and drive them; /health and /metrics on SAGA_METRICS_PORT.",
    },
    "read-models": {
      usage: "read-models list | read-models rebuild <name>",
      summary: "Show read models with their lag, or rebuild one from the store.",
    },
    "dead-letters": {
      usage: "dead-letters list|show|replay|purge <consumer> [message-id ...]",
      summary: "Inspect, replay (all or by message id) or drop what a consumer could not apply.",
    },
    outbox: {
      usage: "outbox status | outbox release <stream-id> | outbox release --all",
      summary: "Outbox depth and parked streams, or release a parked stream.",
    },
    sagas: {
      usage: "sagas list [status] | sagas retry <saga-id>",
      summary: "Saga instances, or retry one that needs attention.",
    },
    audit: {
      usage: auditUsage,
      summary:
        "Check every read model against the store: events not applied beyond the lag, versions the store lacks; exit 1 on any.",
    },
    streams: { usage: "streams show <stream-id>", summary: "Print a stream's recorded events, one JSON line each." },
    token: {
      usage: tokenUsage(app),
      summary: "Print a bearer token signed with AUTH_JWT_SECRET (or the development secret) for local use.",
    },
  };
  const theirs = Object.fromEntries(
    Object.entries(app.commands ?? {}).map(([name, c]) => [name, { usage: c.usage, summary: c.summary }]),
  );
  return { ...own, ...theirs };
}

/** How users run the app's entry file, for usage lines: the app's `bin`, else the entry file as started. */
export const binOf = (app: AnyApp) => app.bin ?? `bun ${basename(process.argv[1] ?? `${app.name}.ts`)}`;

export function usageText(app: AnyApp): string {
  const commands = commandsOf(app);
  const width = Math.max(...Object.values(commands).map((c) => c.usage.length));
  const lines = Object.values(commands).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`);
  return `usage: ${binOf(app)} <command> [--help]\n\n${lines.join("\n")}\n`;
}
