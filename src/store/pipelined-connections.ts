import type { ReservedSql, Sql } from "postgres";

/**
 * Statements sent down a few connections reserved from the pool, more than one at a time on each.
 * Postgres answers a connection's statements in order, each in its own transaction, but it starts the next
 * as soon as it has sent the last answer: it does not sit idle while the answer travels back, is read, and
 * the next statement is gathered and sent. A connection goes back to the pool when it has nothing in
 * flight, so an idle store holds none.
 */
export type PipelinedConnections = {
  run<T>(statement: (sql: Sql) => Promise<T>): Promise<T>;
  /** Connections it reserves at most. */
  readonly connections: number;
};

type Lane = { reserved: Promise<ReservedSql>; inFlight: number };

export function createPipelinedConnections(sql: Sql, connections: number): PipelinedConnections {
  if (!Number.isInteger(connections) || connections < 1) throw new RangeError("connections must be a whole number from 1");
  const lanes: Lane[] = [];

  /** A new lane while there may be more, else the least busy (a lane with nothing in flight is gone). */
  function pick(): Lane {
    if (lanes.length < connections) {
      const lane: Lane = { reserved: sql.reserve(), inFlight: 0 };
      lanes.push(lane);
      return lane;
    }
    return lanes.reduce((least, l) => (l.inFlight < least.inFlight ? l : least));
  }

  function drop(lane: Lane): void {
    const at = lanes.indexOf(lane);
    if (at >= 0) lanes.splice(at, 1);
  }

  return {
    connections,
    async run(statement) {
      const lane = pick();
      lane.inFlight++;
      let reserved: ReservedSql | undefined;
      try {
        reserved = await lane.reserved;
        return await statement(reserved);
      } catch (error) {
        // The pool has taken a lost connection back as closed: handing it back again would reopen it.
        if (!reserved || lostConnection(error)) drop(lane);
        throw error;
      } finally {
        lane.inFlight--;
        if (lane.inFlight === 0 && lanes.includes(lane)) {
          drop(lane);
          reserved?.release();
        }
      }
    },
  };
}

/**
 * Whether the connection is gone: Postgres ends it after a FATAL or PANIC error, and postgres.js names a
 * lost socket by its own code (CONNECTION_CLOSED, CONNECT_TIMEOUT, …) or the socket's errno (ECONNRESET).
 */
function lostConnection(error: unknown): boolean {
  const { severity, code } = (error ?? {}) as { severity?: unknown; code?: unknown };
  if (typeof severity === "string") return severity === "FATAL" || severity === "PANIC";
  return typeof code === "string" && /^(CONNECTION_|CONNECT_|E[A-Z]+$)/.test(code);
}
