import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

/**
 * The Deno binary itself. node_modules/.bin/deno is a Node wrapper that spawns it, and a signal sent to the
 * wrapper would leave Deno running; so tests start the binary: the platform package's, or the copy the
 * wrapper puts beside itself.
 */
export function denoBinary(): string {
  const scoped = join(root, "node_modules", "@deno");
  const candidates = [
    ...(existsSync(scoped) ? readdirSync(scoped).map((d) => join(scoped, d, "deno")) : []),
    join(root, "node_modules", "deno", "deno"),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`no Deno binary among ${candidates.join(", ")}`);
  return found;
}
