/**
 * `bun run chaos [--minutes N] [--commands N] [--keep]`: the chaos run against real processes on loopback
 * (bounded in time and in commands). Exits 1 when anything was lost or applied twice.
 */
import { parseArgs } from "node:util";
import { formatSummary, runChaos } from "./chaos/run-chaos.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "3" },
    commands: { type: "string", default: "5000" },
    keep: { type: "boolean", default: false },
  },
});
const minutes = Number(values.minutes);
const commands = Number(values.commands);
if (!(minutes > 0 && minutes <= 60) || !(commands > 0 && commands <= 100_000)) {
  console.error("--minutes must be in (0, 60] and --commands in (0, 100000]");
  process.exit(2);
}
const summary = await runChaos({ durationMs: minutes * 60_000, maxCommands: commands, keep: values.keep });
console.log(formatSummary(summary));
const differing = Object.values(summary.readModelRowsDiffering).reduce((a, b) => a + b, 0);
const clean =
  summary.settled &&
  summary.eventsLost === 0 &&
  summary.duplicateEffects === 0 &&
  differing === 0 &&
  summary.stuckSagas === 0 &&
  summary.cancelledButCharged === 0 &&
  summary.stockReceivedOutOfRange === 0;
process.exit(clean ? 0 : 1);
