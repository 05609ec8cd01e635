/**
 * A version-7 UUID (RFC 9562): the Unix time in milliseconds in the first 48 bits, random bits after.
 * Ids made one after another land next to each other in a B-tree index, where random (version-4) ids
 * touch a random page of the index per insert; the event store's unique index on event ids and the
 * consumers' inbox keys are such indexes.
 *
 * Built on a version-4 UUID from `crypto.randomUUID` (native in every runtime we run on): its first 48 bits
 * give way to the time and its version digit becomes 7; its variant and the other 74 random bits are
 * already what version 7 asks for. Filling 16 bytes and formatting them in JavaScript took half as long
 * again (about 300 ns against 190-200 per id under Bun, 500k ids), and every event the store writes needs one.
 */
let lastMs = -1;
let lastPrefix = "";

export function uuidV7(now: number = Date.now()): string {
  if (now !== lastMs) {
    const hex = now.toString(16).padStart(12, "0");
    lastPrefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7`;
    lastMs = now;
  }
  // "xxxxxxxx-xxxx-4xxx-…": everything after the version digit stays.
  return lastPrefix + crypto.randomUUID().slice(15);
}
