import postgres, { type Sql } from "postgres";

export type ConnectOptions = { max?: number; schema?: string; applicationName?: string };

// Positions and versions are int8; they stay far below 2^53, so plain numbers are safe and simpler.
const int8AsNumber = { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) };

/** A postgres.js pool with eventline's settings: int8 as numbers, quiet notices, optional schema. */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    types: { int8: int8AsNumber },
    connection: {
      application_name: options.applicationName ?? "eventline",
      ...(options.schema ? { search_path: options.schema } : {}),
    },
  });
}
