import { describe, expect, it } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const src = join(import.meta.dirname, "..", "..", "src");

/** Every project file reachable by static imports from `entry`. */
function importGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:import|export)[^"';]*?from\s*["'](\.[^"']+)["']/g)) {
      const target = resolve(dirname(file), m[1] as string);
      if (existsSync(target)) visit(target);
    }
  };
  visit(entry);
  return [...seen];
}

describe("the edge-ready API", () => {
  for (const entry of ["http/create-app.ts", "shop/create-shop.ts", "deno.ts"]) {
    it(`${entry} reaches no Bun-only API through its imports`, () => {
      const files = importGraph(join(src, entry));
      expect(files.length).toBeGreaterThan(3);
      const offenders = files.filter((f) => /\bBun\.\w+/.test(readFileSync(f, "utf8")));
      expect(offenders).toEqual([]);
    });
  }
});
