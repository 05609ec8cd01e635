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

/** The categories a set of patterns can match, or undefined when a pattern's category is a wildcard. */
export function categoriesOf(patterns: string[]): string[] | undefined {
  const categories = new Set<string>();
  for (const pattern of patterns) {
    const first = pattern.split(".")[0] ?? "";
    if (first === "*" || first === "#") return undefined;
    categories.add(first);
  }
  return [...categories];
}
