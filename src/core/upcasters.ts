/** Turns the data of an event type from one schema version into the next. */
export type Upcaster = { type: string; fromVersion: number; upcast: (data: unknown) => unknown };

/** Chains upcasters so reads always return the newest shape of an event; stored rows are never rewritten. */
export class Upcasters {
  private readonly byKey = new Map<string, Upcaster>();

  constructor(upcasters: Upcaster[] = []) {
    for (const u of upcasters) this.register(u);
  }

  register(upcaster: Upcaster): this {
    const key = `${upcaster.type}@${upcaster.fromVersion}`;
    if (this.byKey.has(key)) throw new Error(`two upcasters for ${key}`);
    this.byKey.set(key, upcaster);
    return this;
  }

  /** Newest schema version known for a type (1 when nothing is registered). */
  latestVersion(type: string, from = 1): number {
    let v = from;
    while (this.byKey.has(`${type}@${v}`)) v++;
    return v;
  }

  apply(type: string, schemaVersion: number, data: unknown): { schemaVersion: number; data: unknown } {
    let v = schemaVersion;
    let d = data;
    for (let u = this.byKey.get(`${type}@${v}`); u; u = this.byKey.get(`${type}@${v}`)) {
      d = u.upcast(d);
      v++;
    }
    return { schemaVersion: v, data: d };
  }
}
