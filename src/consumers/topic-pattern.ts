/** AMQP topic matching: `*` is exactly one word, `#` zero or more; words are separated by dots. */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = pattern.split(".");
  const k = routingKey.split(".");
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === "#") return match(i + 1, j) || (j < k.length && match(i, j + 1));
    return j < k.length && (p[i] === "*" || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

export type CategoryFilter = { categories?: string[]; categoryPrefixes?: string[] };

/**
 * Which categories a set of patterns can match, as a filter for reading the log: exact categories, and
 * prefixes (`a.` for every category `a.…`). A routing key is `<category>.<type>` and a category may hold
 * dots itself, so `billing.invoice.*` can match category `billing` or `billing.invoice`, and `a.#` any category that is
 * `a` or starts with `a.`. No filter when a pattern's first word is a wildcard.
 */
export function categoriesOf(patterns: string[]): CategoryFilter {
  const categories = new Set<string>();
  const prefixes = new Set<string>();
  for (const pattern of patterns) {
    const words = pattern.split(".");
    const firstWild = words.findIndex((w) => w === "*" || w === "#");
    if (firstWild === 0) return {};
    const literal = firstWild === -1 ? words.length : firstWild;
    // The type takes at least the last word, so the category is a literal prefix of at most n-1 words...
    for (let k = 1; k <= Math.min(literal, words.length - 1); k++) categories.add(words.slice(0, k).join("."));
    // ...unless a wildcard before the last word (or a #) can be part of it too.
    if (firstWild !== -1 && (words[firstWild] === "#" || firstWild < words.length - 1)) {
      prefixes.add(`${words.slice(0, firstWild).join(".")}.`);
    }
  }
  return prefixes.size > 0 ? { categories: [...categories], categoryPrefixes: [...prefixes] } : { categories: [...categories] };
}
