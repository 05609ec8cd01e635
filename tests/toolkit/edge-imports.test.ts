import { describe, expect, it } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const exportsMap = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).exports as Record<string, { bun: string }>;

/** The file a specifier names inside this project: a relative path, or one of eventline's entry points. */
function resolveInProject(from: string, spec: string): string | undefined {
  if (spec.startsWith(".")) return resolve(dirname(from), spec);
  if (spec === "eventline" || spec.startsWith("eventline/")) {
    const target = exportsMap[spec === "eventline" ? "." : `./${spec.slice("eventline/".length)}`];
    return target ? join(root, target.bun) : undefined;
  }
  return undefined;
}

/** Every project file reachable by static imports from `entry`. */
function importGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:import|export)[^"';]*?from\s*["']([^"']+)["']/g)) {
      // Type-only imports vanish when the code runs.
      if (/^(?:import|export)\s+type\s/.test(m[0])) continue;
      const target = resolveInProject(file, m[1] as string);
      if (target && existsSync(target)) visit(target);
    }
  };
  visit(entry);
  return [...seen];
}

describe("the edge-ready API", () => {
  for (const entry of ["src/index.ts", "src/hono.ts", "examples/shop/http/create-shop-routes.ts"]) {
    it(`${entry} reaches no Bun-only API through its imports`, () => {
      const files = importGraph(join(root, entry));
      expect(files.length).toBeGreaterThan(3);
      const offenders = files.filter((f) => /\bBun\.\w+/.test(readFileSync(f, "utf8")));
      expect(offenders).toEqual([]);
    });
  }

  it("the check finds Bun-only calls where there are some, so it can fail", () => {
    const files = importGraph(join(root, "scripts", "process-runner.ts"));
    expect(files.some((f) => /\bBun\.\w+/.test(readFileSync(f, "utf8")))).toBe(true);
  });
});
