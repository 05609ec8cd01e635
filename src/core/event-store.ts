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

export type ReadAllOptions = {
  after?: Checkpoint;
  batchSize?: number;
  /** Only events of these categories... */
  categories?: string[];
  /** ...or of a category starting with one of these (with `categories`). */
  categoryPrefixes?: string[];
  /** Only events at or before this position. */
  throughPosition?: number;
  /**
   * Events as stored: personal fields sealed, older schema versions not upcast. For readers that hand
   * events on (dead letters, a consumer's sweep that prepares each event itself, as it does a delivery),
   * so no copy in clear leaves the store and every path upcasts once, after opening.
   */
  sealed?: boolean;
  /**
   * Also return events committed by transactions newer than the oldest one still running. Such a batch
   * shows everything committed now (what a read-your-writes check needs) but is not safe to checkpoint
   * past: the running transaction may still commit events that sort before it.
   */
  includeRecent?: boolean;
};

export type ReadAllBatch = { events: RecordedEvent[]; checkpoint: Checkpoint };

/** A stored answer to a command sent with an idempotency key. */
export type IdempotencyRecord = { key: string; fingerprint: string; status: number; body: unknown };

/**
 * Asks the store to record the answer to this append under `key` in the same transaction, so the answer
 * exists exactly when the events do. A key already taken fails the append with IdempotencyKeyTaken.
 */
export type IdempotencyRequest = {
  key: string;
  fingerprint: string;
  respond: (results: AppendResult[]) => { status: number; body: unknown };
};

export type AppendOptions = {
  idempotency?: IdempotencyRequest;
  /**
   * Subjects whose personal data is forgotten in the same transaction as these events (the event that
   * records the erasure, say): once the append is answered, the erasure is done.
   */
  forgetSubjects?: string[];
};

export type Snapshot = { streamId: string; version: number; schemaVersion: number; state: unknown };

/** The event store contract shared by the Postgres store and the in-memory store. */
export interface EventStore {
  /** Appends to one or several streams atomically. Event ids already stored make the call a replay. */
  append(requests: AppendRequest[], options?: AppendOptions): Promise<AppendResult[]>;
  appendToStream(
    streamId: string,
    events: NewEvent[],
    options?: { expectedVersion?: ExpectedVersion } & AppendOptions,
  ): Promise<AppendResult>;
  /** The answer recorded under an idempotency key, if any. */
  idempotencyRecord(key: string): Promise<IdempotencyRecord | undefined>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** The highest global position written so far (0 for an empty store). */
  headPosition(): Promise<number>;
  /** Current version of a stream (0 when it does not exist). */
  streamVersion(streamId: string): Promise<number>;
  /** Current versions of the streams that exist among these (absent ones are left out). */
  streamVersions(streamIds: string[]): Promise<Map<string, number>>;
  /** The next batch of the whole log after a checkpoint, in commit-safe order. */
  readAll(options?: ReadAllOptions): Promise<ReadAllBatch>;
  /** Stored events with these ids, in position order. */
  findEvents(eventIds: string[]): Promise<RecordedEvent[]>;
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  loadSnapshot(streamId: string): Promise<Snapshot | undefined>;
  /** Deletes the subject's key: its personal fields read back redacted from now on. */
  forgetSubject(subjectId: string): Promise<void>;
}
