/**
 * The processes' logger: JSON lines on stdout for production, or compact human-readable lines for a
 * local run (`LOG_FORMAT=pretty`), each with the process role and any known ids.
 */
export type Level = "debug" | "info" | "warn" | "error";
export type LogFormat = "json" | "pretty";
export type Logger = {
  (level: Level, message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
};

const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// Fields every line of a process carries; the pretty form shows the role up front and leaves the rest out.
const quiet = new Set(["app", "role", "pid"]);

/** `12:03:04.512 api       WARN  publish failed, will retry  position=42 error="…"` */
export function prettyLine(level: Level, time: Date, message: string, fields: Record<string, unknown>): string {
  const role = String(fields.role ?? "");
  const extras = Object.entries(fields)
    .filter(([k, v]) => !quiet.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`);
  return [time.toISOString().slice(11, 23), role.padEnd(18), level.toUpperCase().padEnd(5), message, ...extras].join(" ");
}

export function createLogger(
  base: Record<string, unknown>,
  minLevel: Level = "info",
  write: (line: string) => void = (line) => console.log(line),
  format: LogFormat = "json",
): Logger {
  const log = ((level: Level, message: string, fields: Record<string, unknown> = {}) => {
    if (rank[level] < rank[minLevel]) return;
    const time = new Date();
    write(
      format === "pretty"
        ? prettyLine(level, time, message, { ...base, ...fields })
        : JSON.stringify({ level, time: time.toISOString(), message, ...base, ...fields }),
    );
  }) as Logger;
  log.child = (fields) => createLogger({ ...base, ...fields }, minLevel, write, format);
  return log;
}
