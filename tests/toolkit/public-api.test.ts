import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  exports: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return /\.(ts|tsx|sql)$/.test(name) ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function specifiersOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map(
    (m) => (m[1] ?? m[2]) as string,
  );
}

const packageOf = (spec: string) =>
  spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] as string);
const publicEntries = Object.keys(pkg.exports)
  .filter((k) => k !== "./package.json")
  .map((k) => (k === "." ? "eventline" : `eventline/${k.slice(2)}`));
/** The TypeScript file of each entry point, as Bun loads it. */
const sourceEntries = Object.values(pkg.exports as unknown as Record<string, string | { bun: string }>)
  .filter((t) => typeof t === "object")
  .map((t) => (t as { bun: string }).bun);
const toolkit = filesUnder(join(root, "src"));
const example = filesUnder(join(root, "examples"));

describe("the public API", () => {
  it("names seven entry points, each a file of the toolkit", () => {
    expect(publicEntries).toEqual([
      "eventline",
      "eventline/postgres",
      "eventline/rabbitmq",
      "eventline/hono",
      "eventline/runtime",
      "eventline/testing",
      "eventline/edge",
    ]);
    for (const target of sourceEntries) expect(statSync(join(root, target)).isFile()).toBe(true);
  });

  it("resolves each entry point to src/ under Bun and workerd (whose bundler compiles it), to the built dist/ elsewhere, and to src/ for Deno in this repository", () => {
    const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).imports as Record<string, string>;
    for (const [key, target] of Object.entries(pkg.exports)) {
      if (key === "./package.json") continue;
      const conditions = target as unknown as Record<string, string>;
      const source = conditions.bun as string;
      expect(source).toMatch(/^\.\/src\/[a-z]+\.ts$/);
      expect(conditions).toEqual({
        bun: source,
        workerd: source,
        types: source.replace("./src/", "./dist/").replace(/\.ts$/, ".d.ts"),
        default: source.replace("./src/", "./dist/").replace(/\.ts$/, ".js"),
      });
      expect(deno[key === "." ? "eventline" : `eventline/${key.slice(2)}`]).toBe(source);
    }
  });

  it("documents every export of every entry file in a sentence", () => {
    for (const target of sourceEntries) {
      const lines = readFileSync(join(root, target), "utf8").split("\n");
      lines.forEach((line, i) => {
        if (!/^export /.test(line)) return;
        const before = lines
          .slice(0, i)
          .reverse()
          .find((l) => l.trim() !== "");
        expect({ target, line, doc: before?.trim().startsWith("/**") || before?.trim().endsWith("*/") }).toMatchObject({
          doc: true,
        });
      });
    }
  });
});

describe("the toolkit (src/)", () => {
  it("has files to check", () => expect(toolkit.length).toBeGreaterThan(50));

  it("never imports the example or anything outside src/, nor a development dependency", () => {
    const offenders = toolkit.flatMap((file) =>
      specifiersOf(file)
        .filter((spec) =>
          spec.startsWith(".")
            ? relative(join(root, "src"), resolve(dirname(file), spec)).startsWith("..")
            : !spec.startsWith("node:") && !(packageOf(spec) in pkg.dependencies),
        )
        .map((spec) => `${relative(root, file)} → ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it("names no part of the shop", () => {
    const words = /\b(shop|checkout|customers?|products?|payments?|skus?)\b|shop_/i;
    // The shop's events and streams (OrderPlaced, order-7f3); "in stream order" is the toolkit's own word.
    const names = /Order[A-Z]|\border-/;
    const offenders = toolkit
      .filter((file) => words.test(readFileSync(file, "utf8")) || names.test(readFileSync(file, "utf8")))
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });
});

describe("the example shop (examples/shop)", () => {
  it("has files to check", () => expect(example.length).toBeGreaterThan(20));

  it("imports eventline only through its public entry points", () => {
    const offenders = example.flatMap((file) =>
      specifiersOf(file)
        .filter((spec) =>
          spec.startsWith(".")
            ? relative(join(root, "examples"), resolve(dirname(file), spec)).startsWith("..")
            : packageOf(spec) === "eventline"
              ? !publicEntries.includes(spec)
              : !spec.startsWith("bun:") && !(packageOf(spec) in pkg.dependencies),
        )
        .map((spec) => `${relative(root, file)} → ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it("imports eventline somewhere, so the check above checks something", () => {
    const users = example.filter((file) => specifiersOf(file).some((s) => s.startsWith("eventline")));
    expect(users.length).toBeGreaterThan(10);
  });
});
