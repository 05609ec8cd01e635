import { ConcurrencyError } from "./errors.ts";

/**
 * What a writer believes about a stream before appending:
 * `any` (no check), `no_stream` (must not exist), `stream_exists` (must exist) or an exact version.
 * Versions count from 1; a stream that does not exist is at version 0.
 */
export type ExpectedVersion = "any" | "no_stream" | "stream_exists" | number;

export function isExpectedVersion(value: unknown): value is ExpectedVersion {
  return (
    value === "any" ||
    value === "no_stream" ||
    value === "stream_exists" ||
    (typeof value === "number" && Number.isSafeInteger(value) && value >= 0)
  );
}

export function versionMatches(expected: ExpectedVersion, actual: number): boolean {
  if (expected === "any") return true;
  if (expected === "no_stream") return actual === 0;
  if (expected === "stream_exists") return actual > 0;
  return expected === actual;
}

/** Throws ConcurrencyError when `actual` does not satisfy `expected`. */
export function assertExpectedVersion(streamId: string, expected: ExpectedVersion, actual: number): void {
  if (!versionMatches(expected, actual)) throw new ConcurrencyError(streamId, expected, actual);
}
