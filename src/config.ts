import * as v from "valibot";
import { type AuthConfig, loadAuthConfig } from "./auth-config.ts";
import { issueLines } from "./config-issues.ts";
import { ConfigError } from "./core/errors.ts";

const url = (protocols: string[]) =>
  v.pipe(
    v.string("is required"),
    v.url("must be a URL"),
    v.check(
      (s) => protocols.some((p) => s.startsWith(`${p}://`)),
      `must start with ${protocols.map((p) => `${p}://`).join(" or ")}`,
    ),
  );

/** One broker URL or several, comma-separated (the nodes of a cluster). */
const urlList = (protocols: string[]) =>
  v.pipe(
    v.string("is required"),
    v.transform((s) => s.split(",").map((u) => u.trim())),
    v.array(url(protocols)),
    v.minLength(1, "is required"),
  );

const int = (fallback: number, min: number, max: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, "must be a whole number"),
      v.transform(Number),
      v.minValue(min, `must be at least ${min}`),
      v.maxValue(max, `must be at most ${max}`),
    ),
    String(fallback),
  );

/**
 * Fault points for the failure tests (EVENTLINE_FAULT); never set in production. `saga-crash-after:<step>`
 * kills the saga process once that step's action has run; an app may name faults of its own.
 */
export const FAULTS = ["relay-crash-after-confirm", "relay-hold-after-confirm", "consumer-hold-delivery"] as const;
const SAGA_CRASH_AFTER = /^saga-crash-after:[\w-]+$/;

const ConfigSchema = v.object({
  DATABASE_URL: url(["postgres", "postgresql"]),
  READ_DATABASE_URL: v.optional(url(["postgres", "postgresql"])),
  DATABASE_POOLER: v.optional(v.picklist(["none", "transaction"], "must be none or transaction"), "none"),
  DATABASE_SCHEMA: v.optional(v.pipe(v.string(), v.regex(/^[a-z_][a-z0-9_]*$/, "must be a lower-case identifier"))),
  // Several URLs (a cluster's nodes): each process connects to the first that answers, and moves on when it goes.
  AMQP_URL: urlList(["amqp", "amqps"]),
  HOST: v.optional(v.pipe(v.string(), v.minLength(1)), "127.0.0.1"),
  PORT: int(3000, 0, 65535),
  EVENTS_EXCHANGE: v.optional(v.pipe(v.string(), v.regex(/^[\w.:-]+$/, "may use letters, digits, . _ : -")), "eventline.events"),
  ADMIN_TOKEN: v.optional(v.pipe(v.string(), v.minLength(16, "must be at least 16 characters"))),
  LOG_LEVEL: v.optional(v.picklist(["debug", "info", "warn", "error"], "must be debug, info, warn or error"), "info"),
  LOG_FORMAT: v.optional(v.picklist(["json", "pretty"], "must be json or pretty"), "json"),
  // A long-running process with work waiting and no progress for this long reports not-live.
  EVENTLINE_STALL_SECONDS: int(60, 1, 86_400),
  // Stalled this long, it exits 1 so its supervisor restarts it; 0 never exits.
  EVENTLINE_STALL_EXIT_SECONDS: int(600, 0, 86_400),
  // Events a read model may leave unapplied this long before the consumer's audit counts them missing.
  AUDIT_LAG_SECONDS: int(60, 1, 86_400),
  RELAY_POLL_MS: int(1000, 10, 60_000),
  RELAY_BATCH_SIZE: int(500, 1, 10_000),
  RELAY_MAX_ATTEMPTS: int(10, 1, 1000),
  RELAY_PARTITIONS: int(16, 1, 1024),
  RELAY_LANES: int(2, 1, 64),
  DB_POOL_MAX: int(10, 1, 500),
  // Unset, each process takes its own default (see sessionTimeouts); 0 turns a limit off.
  DB_STATEMENT_TIMEOUT_MS: v.optional(v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number))),
  DB_LOCK_TIMEOUT_MS: v.optional(v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number))),
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number)),
  ),
  HORIZON_STALL_SECONDS: int(300, 1, 86_400),
  RELAY_METRICS_PORT: int(9464, 0, 65535),
  CONSUMER_METRICS_PORT: int(9465, 0, 65535),
  CONSUMER_PREFETCH: int(64, 1, 1000),
  CONSUMER_MAX_ATTEMPTS: int(5, 1, 100),
  // Unset: quorum when AMQP_URL names several nodes (a queue that outlives one), classic for one.
  CONSUMER_QUEUE_TYPE: v.optional(v.picklist(["classic", "quorum"], "must be classic or quorum")),
  INBOX_RETENTION_HOURS: int(168, 0, 100_000),
  QUEUE_PREFIX: v.optional(v.pipe(v.string(), v.regex(/^[\w.:-]+$/, "may use letters, digits, . _ : -")), "eventline"),
  NOTIFY_CHANNEL: v.optional(
    v.pipe(v.string(), v.regex(/^[a-z_][a-z0-9_]*$/, "must be a lower-case identifier")),
    "eventline_outbox",
  ),
  // Fault injection for the failure tests; never set in production. Checked against the app's faults below.
  EVENTLINE_FAULT: v.optional(v.string()),
  SAGA_METRICS_PORT: int(9466, 0, 65535),
  // At most half the relay's idle-in-transaction limit: its transaction waits for confirms between statements.
  RELAY_CONFIRM_TIMEOUT_MS: int(10_000, 50, 30_000),
  SAGA_LEASE_MS: int(60_000, 100, 3_600_000),
  SAGA_CONCURRENCY: int(8, 1, 256),
});

const EdgeConfigSchema = v.object({ ...ConfigSchema.entries, AMQP_URL: v.optional(urlList(["amqp", "amqps"])) });

export type Config = {
  databaseUrl: string;
  readDatabaseUrl: string;
  /** Schema for eventline's tables (default: the connection's search_path, usually public). */
  databaseSchema?: string;
  /** DATABASE_URL (and READ_DATABASE_URL) lead through a pooler in transaction mode: the API only. */
  databasePooler: "none" | "transaction";
  /** The broker's nodes, in the order a process tries them (AMQP_URL, or AMQP_URLS). */
  amqpUrls: string[];
  host: string;
  port: number;
  eventsExchange: string;
  adminToken?: string;
  logLevel: "debug" | "info" | "warn" | "error";
  /** JSON lines (production) or compact human-readable lines (`npm run dev`). */
  logFormat: "json" | "pretty";
  /** When a long-running process reports not-live, and when it gives up and exits 1 (0: never). */
  stall: { afterMs: number; exitAfterMs: number };
  /** How old an unapplied event must be before the consumers' audit reports it missing. */
  auditLagMs: number;
  relay: {
    pollMs: number;
    batchSize: number;
    maxAttempts: number;
    partitions: number;
    lanes: number;
    metricsPort: number;
    confirmTimeoutMs: number;
  };
  consumer: {
    metricsPort: number;
    prefetch: number;
    maxAttempts: number;
    queueType: "classic" | "quorum";
    inboxRetentionMs: number;
    queuePrefix: string;
  };
  notifyChannel: string;
  /** The fault point to trip (EVENTLINE_FAULT): one of FAULTS, `saga-crash-after:<step>` or one the app names. */
  fault?: string;
  sagaMetricsPort: number;
  /** How long a saga worker's claim lasts; after a crash the step waits this long to run again. */
  sagaLeaseMs: number;
  /** How many saga instances one saga process drives at once. */
  sagaConcurrency: number;
  dbPoolMax: number;
  /** Postgres session limits given in the environment; each process fills the rest with its defaults. */
  dbTimeouts: { statementMs?: number; lockMs?: number; idleInTransactionMs?: number };
  /** /ready fails when a transaction has held the gap-safe horizon back for longer than this. */
  horizonStallSeconds: number;
  /** Bearer-token verification, production mode and CORS (see loadAuthConfig). */
  auth: AuthConfig;
};

/**
 * Parses the environment once. Throws ConfigError with one line per bad or missing variable. `appFaults`
 * are the fault points the app adds to eventline's own; `broker: false` is for a process without RabbitMQ.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  appFaults: readonly string[] = [],
  options: { broker?: boolean } = {},
): Config {
  // An API in an isolate talks to Postgres only; without a broker AMQP_URL may be left out.
  const problems: string[] = [];
  if (env.AMQP_URL && env.AMQP_URLS) problems.push("AMQP_URL and AMQP_URLS are both set: set one of them");
  const parsed = v.safeParse(options.broker === false ? EdgeConfigSchema : ConfigSchema, {
    ...env,
    AMQP_URL: env.AMQP_URL || env.AMQP_URLS || undefined,
  });
  let auth: AuthConfig | undefined;
  try {
    auth = loadAuthConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  // The list was read from AMQP_URLS: its problems are named after it.
  const viaUrls = (line: string) => (!env.AMQP_URL && env.AMQP_URLS ? line.replace(/^AMQP_URL\b/, "AMQP_URLS") : line);
  if (!parsed.success) problems.unshift(...issueLines(parsed.issues).map(viaUrls));
  if (!parsed.success || !auth || problems.length > 0) throw new ConfigError(problems);
  const c = parsed.output;
  if (c.DATABASE_POOLER === "transaction" && c.DATABASE_SCHEMA)
    throw new ConfigError(["DATABASE_SCHEMA cannot go through a transaction pooler: set the schema on the role or the database"]);
  if (auth.production && c.ADMIN_TOKEN && c.ADMIN_TOKEN.length < 32)
    throw new ConfigError(["ADMIN_TOKEN must be at least 32 characters in production"]);
  // Each lane owns a share of the partitions; a lane with none would only hold a connection.
  if (c.RELAY_LANES > c.RELAY_PARTITIONS) {
    throw new ConfigError([`RELAY_LANES must be at most RELAY_PARTITIONS (${c.RELAY_PARTITIONS})`]);
  }
  const fault = c.EVENTLINE_FAULT;
  // A node named twice is one node.
  const amqpUrls = [...new Set(c.AMQP_URL ?? [])];
  if (fault && !(FAULTS as readonly string[]).includes(fault) && !appFaults.includes(fault) && !SAGA_CRASH_AFTER.test(fault)) {
    throw new ConfigError(["EVENTLINE_FAULT is not a known fault"]);
  }
  return {
    databaseUrl: c.DATABASE_URL,
    readDatabaseUrl: c.READ_DATABASE_URL ?? c.DATABASE_URL,
    databaseSchema: c.DATABASE_SCHEMA,
    databasePooler: c.DATABASE_POOLER,
    amqpUrls,
    host: c.HOST,
    port: c.PORT,
    eventsExchange: c.EVENTS_EXCHANGE,
    adminToken: c.ADMIN_TOKEN,
    logLevel: c.LOG_LEVEL,
    logFormat: c.LOG_FORMAT,
    stall: { afterMs: c.EVENTLINE_STALL_SECONDS * 1000, exitAfterMs: c.EVENTLINE_STALL_EXIT_SECONDS * 1000 },
    auditLagMs: c.AUDIT_LAG_SECONDS * 1000,
    relay: {
      pollMs: c.RELAY_POLL_MS,
      batchSize: c.RELAY_BATCH_SIZE,
      maxAttempts: c.RELAY_MAX_ATTEMPTS,
      partitions: c.RELAY_PARTITIONS,
      lanes: c.RELAY_LANES,
      metricsPort: c.RELAY_METRICS_PORT,
      confirmTimeoutMs: c.RELAY_CONFIRM_TIMEOUT_MS,
    },
    consumer: {
      metricsPort: c.CONSUMER_METRICS_PORT,
      prefetch: c.CONSUMER_PREFETCH,
      maxAttempts: c.CONSUMER_MAX_ATTEMPTS,
      queueType: c.CONSUMER_QUEUE_TYPE ?? (amqpUrls.length > 1 ? "quorum" : "classic"),
      inboxRetentionMs: c.INBOX_RETENTION_HOURS * 3600 * 1000,
      queuePrefix: c.QUEUE_PREFIX,
    },
    notifyChannel: c.NOTIFY_CHANNEL,
    fault,
    sagaMetricsPort: c.SAGA_METRICS_PORT,
    sagaLeaseMs: c.SAGA_LEASE_MS,
    sagaConcurrency: c.SAGA_CONCURRENCY,
    dbPoolMax: c.DB_POOL_MAX,
    dbTimeouts: {
      statementMs: c.DB_STATEMENT_TIMEOUT_MS,
      lockMs: c.DB_LOCK_TIMEOUT_MS,
      idleInTransactionMs: c.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    },
    horizonStallSeconds: c.HORIZON_STALL_SECONDS,
    auth,
  };
}
