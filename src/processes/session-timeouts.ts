import type { Config } from "../config.ts";
import type { SessionTimeouts } from "../store/connect.ts";

/**
 * A process's Postgres session limits: what the environment says, else its role's default. The API answers
 * people, so a statement gets 5 s; the others run batches, 30 s. A lock is waited for 5 s and an idle
 * transaction kept 60 s everywhere: a relay stuck mid-batch then gives its partitions up, and one locked
 * row cannot stall the batches queued behind it for ever.
 */
export function sessionTimeouts(config: Config, role: string): SessionTimeouts {
  return {
    statementMs: config.dbTimeouts.statementMs ?? (role === "api" ? 5_000 : 30_000),
    lockMs: config.dbTimeouts.lockMs ?? 5_000,
    idleInTransactionMs: config.dbTimeouts.idleInTransactionMs ?? 60_000,
  };
}
