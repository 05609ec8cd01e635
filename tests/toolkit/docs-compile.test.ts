import { describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const docs = ["README.md", ...readdirSync(join(root, "docs")).map((f) => `docs/${f}`)].filter((f) => f.endsWith(".md"));

/** Every ```ts block of a Markdown file, with the file name its first line gives (`// file: a/b.ts`), if any. */
function tsBlocks(doc: string): { file?: string; code: string }[] {
  const text = readFileSync(join(root, doc), "utf8");
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => {
    const code = m[1] as string;
    const named = /^\/\/ file: (\S+)\n/.exec(code);
    return { file: named?.[1], code };
  });
}

describe("the docs' TypeScript", () => {
  it("compiles, every block of README.md and docs/*.md, against the public entry points", () => {
    // Inside the repository, so `eventline` resolves to this package by its own name.
    const dir = join(root, ".eventline", "doc-check");
    rmSync(dir, { recursive: true, force: true });
    let blocks = 0;
    for (const doc of docs) {
      tsBlocks(doc).forEach((block, i) => {
        const path = join(dir, doc.replace(/\.md$/, ""), block.file ?? `block-${i + 1}.ts`);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, block.code);
        blocks++;
      });
    }
    expect(blocks).toBeGreaterThanOrEqual(8);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ extends: "../../tsconfig.json", compilerOptions: { noEmit: true }, include: ["**/*.ts"] }),
    );
    const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(dir, "tsconfig.json")], {
      encoding: "utf8",
      timeout: 60_000,
    });
    // The blocks include a test file; left here, a later `bun test` would run it.
    rmSync(dir, { recursive: true, force: true });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  }, 90_000);
});
