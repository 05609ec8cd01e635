/**
 * Crypto-shredding: fields marked personal are encrypted with AES-GCM under a key per data subject.
 * Forgetting the subject deletes the key, after which those fields read back as REDACTED while every
 * other field stays readable. Uses Web Crypto only, so it runs on any runtime.
 */

/** Which fields of an event type are personal, and whose they are. */
export type PersonalDataRule = { subject: (data: Record<string, unknown>) => string; fields: string[] };
export type PersonalDataPolicy = Record<string, PersonalDataRule>;

/** Raw AES keys per subject. Implementations: in memory, and the Postgres keys table. */
export interface KeyStore {
  /** The subject's key, created when missing; undefined once the subject is forgotten (never made again). */
  obtain(subjectId: string): Promise<Uint8Array | undefined>;
  /** Keys of the subjects that still have one. */
  findMany(subjectIds: string[]): Promise<Map<string, Uint8Array>>;
  /** Deletes the key and leaves a tombstone, so `obtain` never makes one for this subject again. */
  forget(subjectId: string): Promise<void>;
}

export const REDACTED = "[redacted]";

type Sealed = { $pii: 1; s: string; iv: string; ct: string };

function isSealed(value: unknown): value is Sealed {
  return typeof value === "object" && value !== null && (value as Sealed).$pii === 1;
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const importKey = (raw: Uint8Array) =>
  crypto.subtle.importKey("raw", new Uint8Array(raw), "AES-GCM", false, ["encrypt", "decrypt"]);

/** A fresh 256-bit AES key. */
export function generateKeyBytes(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

export type PersonalData = {
  /** Encrypts the personal fields of one event; returns the subject it belongs to, if any. */
  seal(type: string, data: unknown): Promise<{ data: unknown; subjectId?: string }>;
  /** Decrypts personal fields of many events at once, redacting those whose key is gone. */
  openAll<T extends { data: unknown }>(items: T[]): Promise<T[]>;
};

/** A sealed field's value, or REDACTED when it cannot be opened (damaged, or sealed under another key). */
async function open(key: CryptoKey, sealed: Sealed): Promise<unknown> {
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(sealed.iv) }, key, fromBase64(sealed.ct));
    return JSON.parse(new TextDecoder().decode(plain));
  } catch {
    return REDACTED;
  }
}

export function createPersonalData(policy: PersonalDataPolicy, keys: KeyStore): PersonalData {
  return {
    async seal(type, data) {
      const rule = policy[type];
      if (!rule || typeof data !== "object" || data === null) return { data };
      const record = data as Record<string, unknown>;
      const subjectId = rule.subject(record);
      const raw = await keys.obtain(subjectId);
      const out: Record<string, unknown> = { ...record };
      // Forgotten already (a command that decided before the forget): the fields are stored redacted.
      if (!raw) {
        for (const field of rule.fields) if (field in record) out[field] = REDACTED;
        return { data: out, subjectId };
      }
      const key = await importKey(raw);
      for (const field of rule.fields) {
        if (!(field in record)) continue;
        const iv = crypto.getRandomValues(new Uint8Array(12));
        const plain = new TextEncoder().encode(JSON.stringify(record[field]));
        const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, plain));
        out[field] = { $pii: 1, s: subjectId, iv: toBase64(iv), ct: toBase64(ct) } satisfies Sealed;
      }
      return { data: out, subjectId };
    },

    async openAll(items) {
      const subjects = new Set<string>();
      for (const item of items) {
        if (typeof item.data !== "object" || item.data === null) continue;
        for (const v of Object.values(item.data)) if (isSealed(v)) subjects.add(v.s);
      }
      if (subjects.size === 0) return items;
      const raw = await keys.findMany([...subjects]);
      const cryptoKeys = new Map<string, CryptoKey>();
      for (const [s, k] of raw) cryptoKeys.set(s, await importKey(k));
      const opened: typeof items = [];
      for (const item of items) {
        if (typeof item.data !== "object" || item.data === null) {
          opened.push(item);
          continue;
        }
        const data: Record<string, unknown> = { ...(item.data as Record<string, unknown>) };
        for (const [field, v] of Object.entries(data)) {
          if (!isSealed(v)) continue;
          const key = cryptoKeys.get(v.s);
          if (!key) {
            data[field] = REDACTED;
            continue;
          }
          data[field] = await open(key, v);
        }
        opened.push({ ...item, data });
      }
      return opened;
    },
  };
}

/** Whether a stored value still contains sealed personal fields (used by tests and audits). */
export function containsSealedField(data: unknown): boolean {
  return typeof data === "object" && data !== null && Object.values(data).some(isSealed);
}

/** A stored event's data with every sealed personal field shown as redacted, for display. */
export function redactSealed(data: unknown): unknown {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return data;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, isSealed(v) ? REDACTED : v]));
}
