import type { ExpectedVersion } from "./expected-version.ts";
import type { NewEvent, RecordedEvent } from "./messages.ts";

export type AppendRequest = { streamId: string; expectedVersion: ExpectedVersion; events: NewEvent[] };

/** Result of appending to one stream: its new version, the last global position and the stored envelopes. */
export type AppendResult = { streamId: string; version: number; position: number; events: RecordedEvent[] };

export type ReadStreamOptions = {
  /** First version to read (inclusive, default 1). */
  fromVersion?: number;
  /** Last version to read (inclusive). */
  toVersion?: number;
  /** Only events that occurred at or before this time. */
  until?: Date;
};

/**
 * A place in the whole log. Ordering is by the writing transaction first, then by position, so a reader
 * that resumes from a checkpoint never skips an event that was committed late.
 */
export type Checkpoint = { transactionId: string; position: number };

export const START: Checkpoint = { transactionId: "0", position: 0 };

export type ReadAllOptions = { after?: Checkpoint; batchSize?: number; categories?: string[] };

export type ReadAllBatch = { events: RecordedEvent[]; checkpoint: Checkpoint };

export type Snapshot = { streamId: string; version: number; schemaVersion: number; state: unknown };

/** The event store contract shared by the Postgres store and the in-memory store. */
export interface EventStore {
  /** Appends to one or several streams atomically. Event ids already stored make the call a replay. */
  append(requests: AppendRequest[]): Promise<AppendResult[]>;
  appendToStream(streamId: string, events: NewEvent[], options?: { expectedVersion?: ExpectedVersion }): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Current version of a stream (0 when it does not exist). */
  streamVersion(streamId: string): Promise<number>;
  /** The next batch of the whole log after a checkpoint, in commit-safe order. */
  readAll(options?: ReadAllOptions): Promise<ReadAllBatch>;
  /** Stored events with these ids, in position order. */
  findEvents(eventIds: string[]): Promise<RecordedEvent[]>;
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  loadSnapshot(streamId: string): Promise<Snapshot | undefined>;
  /** Deletes the subject's key: its personal fields read back redacted from now on. */
  forgetSubject(subjectId: string): Promise<void>;
}
