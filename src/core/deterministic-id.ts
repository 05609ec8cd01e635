import { sha256 } from "./sha256.ts";
import { uuidText } from "./uuid-text.ts";

/** A UUID-shaped id derived from a name: the same name always gives the same id (for retried steps). */
export async function deterministicId(name: string): Promise<string> {
  const digest = await sha256(name);
  const b = digest.slice(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x80; // version 8: custom
  b[8] = ((b[8] as number) & 0x3f) | 0x80; // RFC 4122 variant
  return uuidText(b);
}
