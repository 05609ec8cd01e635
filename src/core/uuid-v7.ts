import { uuidText } from "./uuid-text.ts";

/**
 * A version-7 UUID (RFC 9562): the Unix time in milliseconds in the first 48 bits, random bits after.
 * Ids made one after another land next to each other in a B-tree index, where random (version-4) ids
 * touch a random page of the index per insert; the event store's unique index on event ids and the
 * consumers' inbox keys are such indexes.
 */
export function uuidV7(now: number = Date.now()): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  const high = Math.floor(now / 2 ** 32);
  const low = now % 2 ** 32;
  b[0] = (high >>> 8) & 0xff;
  b[1] = high & 0xff;
  b[2] = (low >>> 24) & 0xff;
  b[3] = (low >>> 16) & 0xff;
  b[4] = (low >>> 8) & 0xff;
  b[5] = low & 0xff;
  b[6] = ((b[6] as number) & 0x0f) | 0x70; // version 7
  b[8] = ((b[8] as number) & 0x3f) | 0x80; // RFC 9562 variant
  return uuidText(b);
}
