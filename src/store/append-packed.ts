import type { Sql } from "postgres";
import type { PreparedEvent } from "../core/event-pipeline.ts";
import type { AppendRequest } from "../core/event-store.ts";
import { streamCategory } from "../core/messages.ts";

/** One caller's append waiting in a group-commit batch. */
export type BatchedAppend = { requests: AppendRequest[]; prepared: PreparedEvent[][] };

/** What the batch answers per written event; the caller has the rest of the envelope. */
export type WrittenEvent = { position: number; version: number; atMs: number };

/** Per call: its written events in the order given, or the conflict that kept it from writing. */
export type PackedOutcome =
  | { status: "written"; events: WrittenEvent[] }
  | { status: "conflict"; streamId: string; expected: string; actual: number };

/**
 * How a column travels: values joined by the unit separator, SQL NULL as the record separator, split
 * again by string_to_array in the statement. JSON.stringify escapes every control character, so only
 * caller-given names (stream ids, types, subject ids) can hold one; such a batch, or one with an empty
 * name (string_to_array reads an empty string as no element at all), takes the general path.
 */
const PACK = { separator: "\x1f", null: "\x1e" } as const;
const packable = (text: string) => text.length > 0 && !text.includes(PACK.separator) && !text.includes(PACK.null);

/**
 * Whether every call fits the packed batch: each stream in one request, names packable. An event id
 * given twice in a batch needs no check here: the statement fails on the unique index, as for a stored id.
 */
export function fitsPackedBatch(calls: BatchedAppend[]): boolean {
  const streams = new Set<string>();
  let requests = 0;
  for (const call of calls) {
    for (const r of call.requests) {
      if (!packable(r.streamId)) return false;
      streams.add(r.streamId);
      requests++;
    }
    for (const events of call.prepared) {
      for (const p of events) if (!packable(p.type) || (p.subjectId !== undefined && !packable(p.subjectId))) return false;
    }
  }
  return streams.size === requests;
}

/**
 * The common batch in one statement through `eventline_append_rows`, which sends the NOTIFY itself.
 * Undefined when one of its event ids is stored already (a replay or a reuse): only the general path
 * answers those. Columns travel packed (see PACK): as text[] parameters, postgres.js escaped every element
 * and Postgres's array_in copied each quoted element character by character. The answer comes folded into
 * one text of numbers (call, position, version, epoch ms per event) instead of a row per event.
 */
export async function appendPacked(sql: Sql, channel: string, calls: BatchedAppend[]): Promise<PackedOutcome[] | undefined> {
  const cols = {
    call: [] as number[],
    stream: [] as string[],
    category: [] as string[],
    expected: [] as string[],
    id: [] as string[],
    type: [] as string[],
    schemaVersion: [] as number[],
    data: [] as string[],
    metadata: [] as string[],
    subject: [] as string[],
  };
  calls.forEach((call, c) => {
    call.requests.forEach((r, i) => {
      const category = streamCategory(r.streamId);
      const expected = String(r.expectedVersion);
      for (const p of call.prepared[i] ?? []) {
        cols.call.push(c);
        cols.stream.push(r.streamId);
        cols.category.push(category);
        cols.expected.push(expected);
        cols.id.push(p.eventId);
        cols.type.push(p.type);
        cols.schemaVersion.push(p.schemaVersion);
        cols.data.push(p.dataJson);
        cols.metadata.push(p.metadataJson);
        cols.subject.push(p.subjectId ?? PACK.null);
      }
    });
  });
  const [sep, nul] = [PACK.separator, PACK.null];
  const [answer] = await sql<
    {
      fallback: boolean;
      written: string | null;
      conflicts: { call: number; stream: string; expected: string; actual: number }[] | null;
    }[]
  >`select coalesce(bool_or(r_status = 'fallback'), false) as fallback,
      string_agg(concat_ws(',', r_call, r_position, r_version, r_at_ms), ',' order by r_call, r_position)
        filter (where r_status = 'ok') as written,
      json_agg(json_build_object('call', r_call, 'stream', r_stream, 'expected', r_expected, 'actual', r_actual))
        filter (where r_status = 'conflict') as conflicts
    from eventline_append_rows(
      string_to_array(${cols.call.join(sep)}, ${sep})::int[], string_to_array(${cols.stream.join(sep)}, ${sep}),
      string_to_array(${cols.category.join(sep)}, ${sep}), string_to_array(${cols.expected.join(sep)}, ${sep}),
      string_to_array(${cols.id.join(sep)}, ${sep})::uuid[], string_to_array(${cols.type.join(sep)}, ${sep}),
      string_to_array(${cols.schemaVersion.join(sep)}, ${sep})::int[],
      string_to_array(${cols.data.join(sep)}, ${sep}, ${nul}), string_to_array(${cols.metadata.join(sep)}, ${sep}),
      string_to_array(${cols.subject.join(sep)}, ${sep}, ${nul}), ${channel})`.catch((error) => {
    if ((error as { constraint_name?: string }).constraint_name === "eventline_events_event_id_unique") return [undefined];
    throw error;
  });
  if (answer === undefined || answer.fallback) return undefined;
  const outcomes: PackedOutcome[] = calls.map(() => ({ status: "written", events: [] }));
  for (const c of answer.conflicts ?? []) {
    outcomes[c.call] = { status: "conflict", streamId: c.stream, expected: c.expected, actual: c.actual };
  }
  const numbers = answer.written ? answer.written.split(",") : [];
  for (let k = 0; k < numbers.length; k += 4) {
    (outcomes[Number(numbers[k])] as { events: WrittenEvent[] }).events.push({
      position: Number(numbers[k + 1]),
      version: Number(numbers[k + 2]),
      atMs: Number(numbers[k + 3]),
    });
  }
  return outcomes;
}
