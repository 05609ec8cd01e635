import { describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { shopApp } from "../../examples/shop/shop-app.ts";

const root = join(import.meta.dirname, "..", "..");
type Service = { command?: string[] | string; depends_on?: Record<string, { condition: string }> };
const compose = Bun.YAML.parse(await Bun.file(join(root, "compose.yaml")).text()) as { services: Record<string, Service> };
const commands = Object.entries(compose.services).flatMap(([name, s]) =>
  !["migrate", "postgres"].includes(name) && Array.isArray(s.command) ? [{ name, argv: s.command }] : [],
);

describe("compose.yaml", () => {
  it("runs every long-running process of the example shop as a service of its own", () => {
    const wanted = [
      ["payment-provider"],
      ["api"],
      ["relay"],
      ...(shopApp.readModels ?? []).map((d) => ["consumer", d.name]),
      ["saga"],
    ];
    const run = commands.map((c) => c.argv.slice(2));
    for (const w of wanted) expect(run).toContainEqual(w);
  });

  it("starts each process with the shop's entry file, once the migration has completed", () => {
    for (const { name, argv } of commands) {
      expect(argv[0]).toBe("bun");
      expect(existsSync(join(root, argv[1] as string))).toBe(true);
      expect(compose.services[name]?.depends_on?.migrate?.condition).toBe("service_completed_successfully");
    }
    expect(commands.length).toBe(8);
  });
});
