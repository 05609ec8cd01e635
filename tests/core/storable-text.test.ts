import { describe, expect, it } from "bun:test";
import fc from "fast-check";
import { jsonHoldsUnstorableText, unstorableText } from "../../src/core/storable-text.ts";

describe("finding text Postgres cannot store in JSON", () => {
  it("agrees with a check of the raw strings, for any string JSON.stringify is given", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary" }), { maxLength: 4 }), (strings) => {
        const json = JSON.stringify({ strings });
        expect(jsonHoldsUnstorableText(json)).toBe(strings.some((s) => unstorableText(s) !== undefined));
      }),
      { numRuns: 2000 },
    );
  });

  it("finds a NUL, a lone surrogate of either kind, and one in a key", () => {
    for (const value of ["a\u0000b", "\ud800", "x\udc00", { "k\u0000": 1 }]) {
      expect(jsonHoldsUnstorableText(JSON.stringify(value))).toBe(true);
    }
  });

  it("lets through a written-out backslash-u, a surrogate pair and other escapes", () => {
    for (const value of ["\\u0000", "\\\\ud800", "😀", "tab\there", "\u0001"]) {
      expect(jsonHoldsUnstorableText(JSON.stringify(value))).toBe(false);
    }
  });
});
