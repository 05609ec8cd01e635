import { describe, expect, it } from "bun:test";
import fc from "fast-check";
import { streamCategory } from "../../src/core/messages.ts";
import { categoriesOf, topicMatches } from "../../src/consumers/topic-pattern.ts";

const inFilter = (filter: ReturnType<typeof categoriesOf>, category: string) =>
  !filter.categories ||
  filter.categories.includes(category) ||
  (filter.categoryPrefixes ?? []).some((p) => category.startsWith(p));

describe("the category filter of a set of binding patterns", () => {
  it("keeps a category that holds a dot itself", () => {
    expect(inFilter(categoriesOf(["shop.order.*"]), "shop.order")).toBe(true);
    expect(inFilter(categoriesOf(["shop.#"]), "shop.order")).toBe(true);
    expect(inFilter(categoriesOf(["order.*"]), "order")).toBe(true);
    expect(inFilter(categoriesOf(["order.*"]), "orders")).toBe(false);
  });

  it("never filters out an event whose routing key a pattern matches", () => {
    const word = fc.constantFrom("a", "b", "order", "shop");
    const pattern = fc.array(fc.oneof(word, fc.constantFrom("*", "#")), { minLength: 1, maxLength: 4 }).map((w) => w.join("."));
    const category = fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join("."));
    const type = fc.array(word, { minLength: 1, maxLength: 2 }).map((w) => w.join("."));
    fc.assert(
      fc.property(fc.array(pattern, { minLength: 1, maxLength: 3 }), category, type, (patterns, c, t) => {
        const streamId = `${c}-1`;
        const key = `${streamCategory(streamId)}.${t}`;
        if (patterns.some((p) => topicMatches(p, key))) expect(inFilter(categoriesOf(patterns), c)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
