import postgres, { type Sql } from "postgres";
import { backoffDelay } from "../core/backoff.ts";

/** How long Postgres lets one of this pool's sessions wait or hold on; 0 turns a limit off. */
export type SessionTimeouts = { statementMs: number; lockMs: number; idleInTransactionMs: number };

export type ConnectOptions = {
  max?: number;
  schema?: string;
  applicationName?: string;
  /** Without them a stuck statement, a queued lock or an abandoned transaction waits for ever. */
  timeouts?: SessionTimeouts;
  /** Further session settings (for tests: a short deadlock_timeout, say). */
  settings?: Record<string, string>;
  /**
   * The URL is a pooler in transaction mode (PgBouncer, Hyperdrive, Supavisor, RDS Proxy): no statement
   * is prepared, since the next transaction may run on another server connection, and no session setting
   * is sent, since none would last (the role's or database's own settings apply).
   */
  pooled?: boolean;
};

// Positions and versions are int8; they stay far below 2^53, so plain numbers are safe and simpler.
const int8AsNumber = { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) };

/**
 * How long a connection waits before connecting again after a failed attempt, in seconds as postgres.js
 * wants it. Its own default grows to 10-20 s after a handful of failures, which a busy pool reaches within
 * a second of an outage, so a process stayed unanswered that long after Postgres was back.
 */
const reconnectBackoff = (failures: number) => backoffDelay(failures, { baseMs: 20, maxMs: 500 }) / 1000;

/** A postgres.js pool with eventline's settings: int8 as numbers, quiet notices, optional schema and timeouts. */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  const t = options.timeouts;
  if (options.pooled) {
    if (options.schema) throw new TypeError("a transaction pooler keeps no search_path: set the schema on the role or database");
    return postgres(url, {
      max: options.max ?? 10,
      onnotice: () => {},
      types: { int8: int8AsNumber },
      backoff: reconnectBackoff,
      prepare: false,
      connection: { application_name: options.applicationName ?? "eventline" },
    });
  }
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    types: { int8: int8AsNumber },
    backoff: reconnectBackoff,
    connection: {
      application_name: options.applicationName ?? "eventline",
      // Appends read a stream's version after taking its lock, which needs a snapshot per statement.
      default_transaction_isolation: "read committed",
      ...(options.schema ? { search_path: options.schema } : {}),
      ...(t
        ? {
            statement_timeout: t.statementMs,
            lock_timeout: t.lockMs,
            idle_in_transaction_session_timeout: t.idleInTransactionMs,
          }
        : {}),
      ...options.settings,
    },
  });
}
