import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const coreDir = join(import.meta.dirname, "..", "..", "src", "core");
const files = readdirSync(coreDir).filter((f) => f.endsWith(".ts"));
// The OpenTelemetry API is vendor- and runtime-neutral and a no-op without an SDK; its W3C propagator is
// what passes trace context on when no app registered one. Only telemetry.ts may use them.
const allowed: Record<string, string[]> = { "telemetry.ts": ["@opentelemetry/api", "@opentelemetry/core"] };

describe("src/core", () => {
  it("has files to check", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  for (const file of files) {
    const text = readFileSync(join(coreDir, file), "utf8");
    const specifiers = [
      ...text.matchAll(/(?:import|export)[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g),
    ].map((m) => m[1] ?? m[2]);

    it(`${file} imports only other core modules`, () => {
      const outside = specifiers.filter((s) => !s?.startsWith("./") && !allowed[file]?.includes(s as string));
      expect(outside).toEqual([]);
    });

    it(`${file} uses no runtime-specific global`, () => {
      expect(text.match(/\b(Bun|Deno|process)\.\w+/g) ?? []).toEqual([]);
    });
  }
});
