/** JSON-lines logger: one object per line on stdout, with the process role and any known ids. */
export type Level = "debug" | "info" | "warn" | "error";
export type Logger = {
  (level: Level, message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
};

const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(
  base: Record<string, unknown>,
  minLevel: Level = "info",
  write: (line: string) => void = (line) => console.log(line),
): Logger {
  const log = ((level: Level, message: string, fields: Record<string, unknown> = {}) => {
    if (rank[level] < rank[minLevel]) return;
    write(JSON.stringify({ level, time: new Date().toISOString(), message, ...base, ...fields }));
  }) as Logger;
  log.child = (fields) => createLogger({ ...base, ...fields }, minLevel, write);
  return log;
}
