import { withBrokerConnection } from "../broker/amqp-connection.ts";
import type { Config } from "../config.ts";
import { liveTables } from "../consumers/consumer-definition.ts";
import { consumerLag } from "../consumers/catch-up.ts";
import { listDeadLetters, purgeDeadLetters, replayDeadLetters } from "../consumers/dead-letters.ts";
import { type RebuildProgress, rebuildReadModel } from "../consumers/rebuild.ts";
import type { Logger } from "../log.ts";
import { outboxStatus, releaseAllStreams, releaseStream } from "../outbox/outbox-queries.ts";
import { connect } from "../store/connect.ts";
import { migrate } from "../store/migrate.ts";
import { listSagas, retrySaga } from "../sagas/saga-store.ts";
import { databases, type ProcessContext, wireProcess } from "./process-kit.ts";

const out = (text: string) => process.stdout.write(`${text}\n`);
const usage = (text: string) => {
  process.stderr.write(`usage: ${text}\n`);
  process.exitCode = 2;
};

/** Applies migrations to the write database, and to the read database when it is another one. */
export async function runMigrate(config: Config, log: Logger): Promise<void> {
  for (const url of new Set([config.databaseUrl, config.readDatabaseUrl])) {
    const sql = connect(url, { max: 1, applicationName: "eventline-migrate", schema: config.databaseSchema });
    try {
      const applied = await migrate(sql);
      log("info", applied.length ? "migrations applied" : "database up to date", { applied });
    } finally {
      await sql.end();
    }
  }
}

export async function runOutbox(config: Config, [sub, streamId]: string[]): Promise<void> {
  const sql = connect(config.databaseUrl, { max: 1, applicationName: "eventline-cli", schema: config.databaseSchema });
  try {
    if (sub === "status") out(JSON.stringify(await outboxStatus(sql), null, 2));
    else if (sub === "release" && streamId === "--all") {
      const n = await releaseAllStreams(sql, config.notifyChannel);
      out(n > 0 ? `released every stream: ${n} rows due again` : "no stream has parked or failing rows");
    } else if (sub === "release" && streamId) {
      const n = await releaseStream(sql, streamId, config.notifyChannel);
      out(n > 0 ? `released ${streamId}: ${n} rows due again` : `${streamId} has no parked or failing rows`);
    } else usage("outbox status | outbox release <stream-id> | outbox release --all");
  } finally {
    await sql.end();
  }
}

/** A bar on a terminal, plain lines (at most one a second) otherwise. */
export function progressPrinter(name: string) {
  let lastLine = 0;
  return (p: RebuildProgress) => {
    const text = `${name}: ${p.percent.toFixed(1)}% · ${p.applied} events · ${Math.round(p.eventsPerSecond)} events/s`;
    if (process.stdout.isTTY) {
      const width = 30;
      const filled = Math.round((p.percent / 100) * width);
      process.stdout.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${text}   `);
      if (p.percent >= 100) process.stdout.write("\n");
    } else if (Date.now() - lastLine >= 1_000 || p.percent >= 100) {
      lastLine = Date.now();
      out(text);
    }
  };
}

export async function runReadModels(ctx: ProcessContext, [sub, name]: string[]): Promise<void> {
  const wired = wireProcess(ctx, "cli", 4);
  const { db } = wired;
  try {
    if (sub === "list") {
      for (const def of wired.readModels) {
        const lag = await consumerLag({ sql: db.readSql, store: wired.store, def, tables: liveTables(def) });
        out(`${def.name}\ttables ${Object.keys(def.tables).join(",")}\tlag ${lag.lag}\tbinds ${def.bindings.join(" ")}`);
      }
      return;
    }
    const def = wired.readModels.find((d) => d.name === name);
    if (sub !== "rebuild" || !def)
      return usage(`read-models list | read-models rebuild <${wired.readModels.map((d) => d.name).join("|")}>`);
    const result = await rebuildReadModel({
      sql: db.readSql,
      store: wired.store,
      def,
      onProgress: progressPrinter(def.name),
    });
    out(`rebuilt ${def.name} from ${result.applied} events`);
  } finally {
    await wired.end();
  }
}

export async function runDeadLetters(config: Config, [sub, consumer, ...ids]: string[]): Promise<void> {
  if (!sub || !consumer) return usage("dead-letters list|replay|purge <consumer> [message-id ...]");
  await withBrokerConnection(config.amqpUrls, async (conn) => {
    const prefix = config.consumer.queuePrefix;
    if (sub === "list") for (const d of await listDeadLetters(conn, consumer, prefix)) out(JSON.stringify(d));
    else if (sub === "show")
      out(
        JSON.stringify(
          (await listDeadLetters(conn, consumer, prefix)).filter((d) => ids.includes(d.messageId)),
          null,
          2,
        ),
      );
    else if (sub === "replay") {
      const show = progressPrinter(`replay ${consumer}`);
      const started = performance.now();
      const n = await replayDeadLetters(conn, consumer, ids.length ? ids : undefined, prefix, (done, total) =>
        show({
          applied: done,
          position: done,
          headPosition: total,
          eventsPerSecond: done / Math.max(0.001, (performance.now() - started) / 1000),
          percent: total ? (100 * done) / total : 100,
        }),
      );
      out(`replayed ${n}`);
    } else if (sub === "purge") out(`purged ${await purgeDeadLetters(conn, consumer, prefix)}`);
    else usage("dead-letters list|show|replay|purge <consumer> [message-id ...]");
  });
}

export async function runSagas(config: Config, [sub, arg]: string[]): Promise<void> {
  const db = databases(config, "cli", 1);
  try {
    if (sub === "list") {
      for (const s of await listSagas(db.readSql, arg)) {
        out(
          `${s.sagaId}\t${s.status}\tstep ${s.currentStep}\tqueue ${s.compensationQueue.join(",") || "-"}\t${s.lastError ?? ""}`,
        );
      }
    } else if (sub === "retry" && arg) {
      out(
        (await retrySaga(db.readSql, arg, `${config.notifyChannel}_sagas`))
          ? `retrying ${arg}`
          : `${arg} does not need attention`,
      );
    } else usage("sagas list [status] | sagas retry <saga-id>");
  } finally {
    await db.end();
  }
}

export async function runStreams(ctx: ProcessContext, [sub, streamId]: string[]): Promise<void> {
  if (sub !== "show" || !streamId) return usage("streams show <stream-id>");
  const wired = wireProcess(ctx, "cli", 2);
  try {
    const events = await wired.store.readStream(streamId);
    if (events.length === 0) {
      process.stderr.write(`stream ${streamId} has no events\n`);
      process.exitCode = 1;
    }
    for (const e of events) out(JSON.stringify(e));
  } finally {
    await wired.end();
  }
}
