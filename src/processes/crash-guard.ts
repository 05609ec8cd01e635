import type { Logger } from "../log.ts";

/**
 * postgres.js 3.4 on Bun 1.4 can schedule a write on a connection whose socket a Postgres restart has just
 * closed; the write then throws from a timer, outside every promise, and would kill the process. The
 * connection is gone either way: its queries fail and are retried by the code that sent them.
 */
export function isClosedSocketWrite(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    /socket\.write/.test(error.message) &&
    /postgres[\\/]src[\\/]connection\.js/.test(error.stack ?? "")
  );
}

/** Survives only that driver race; any other uncaught exception is logged and ends the process (exit 1). */
export function installCrashGuard(log: Logger): void {
  process.on("uncaughtException", (error) => {
    if (isClosedSocketWrite(error)) {
      log("warn", "a Postgres connection closed under a pending write; its queries will be retried", { error: String(error) });
      return;
    }
    log("error", "uncaught exception, exiting", { error: String(error), stack: (error as Error)?.stack });
    process.exit(1);
  });
}
