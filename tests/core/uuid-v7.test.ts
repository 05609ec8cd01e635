import { describe, expect, it } from "bun:test";
import { deterministicId } from "../../src/core/deterministic-id.ts";
import { uuidV7 } from "../../src/core/uuid-v7.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("time-ordered ids", () => {
  it("writes the millisecond in the first 48 bits, then the version 7 and the RFC 9562 variant", () => {
    const id = uuidV7(0x0123456789ab);
    expect(id).toMatch(UUID);
    expect(id.slice(0, 13)).toBe("01234567-89ab");
    expect(id[14]).toBe("7");
    expect("89ab").toContain(id[19] as string);
  });

  it("sorts ids made in later milliseconds after earlier ones, as text", () => {
    const times = [1, 1_000, 1_700_000_000_000, 1_700_000_000_001, 2 ** 48 - 1];
    const ids = times.map((t) => uuidV7(t));
    expect([...ids].sort()).toEqual(ids);
  });

  it("gives ids made in the same millisecond their own random bits", () => {
    const ids = Array.from({ length: 10_000 }, () => uuidV7(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("leaves deterministic ids as they were: the same name, the same version-8 id", async () => {
    const id = await deterministicId("saga-1#charge");
    expect(id).toMatch(UUID);
    expect(id[14]).toBe("8");
    expect(await deterministicId("saga-1#charge")).toBe(id);
    // What the implementation before the shared formatting gave for this name.
    expect(id).toBe("4340cd54-0482-87fb-8802-13dfebe9867e");
  });
});
