/**
 * `bun run chaos [--minutes N] [--commands N] [--alarm-seconds N] [--cluster] [--read-database] [--keep]`:
 * the chaos run against real processes on loopback (bounded in time and in commands). `--cluster` runs it
 * on a three-node RabbitMQ cluster with two instances of each consumer, killing and stopping nodes;
 * `--read-database` puts the read side in a second database (always so with `--cluster`). Exits 1 unless every fault bit, something was
 * accepted, and nothing was lost, charged, refunded, reserved or decided twice.
 */
import { parseArgs } from "node:util";
import { formatSummary, isClean, runChaos } from "./chaos/run-chaos.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "3" },
    commands: { type: "string", default: "5000" },
    "alarm-seconds": { type: "string", default: "20" },
    keep: { type: "boolean", default: false },
    cluster: { type: "boolean", default: false },
    "read-database": { type: "boolean", default: false },
  },
});
const minutes = Number(values.minutes);
const commands = Number(values.commands);
const alarmSeconds = Number(values["alarm-seconds"]);
if (!(minutes > 0 && minutes <= 60) || !(commands > 0 && commands <= 100_000) || !(alarmSeconds > 0 && alarmSeconds <= 300)) {
  console.error("--minutes must be in (0, 60], --commands in (0, 100000] and --alarm-seconds in (0, 300]");
  process.exit(2);
}
const summary = await runChaos({
  durationMs: minutes * 60_000,
  maxCommands: commands,
  alarmMs: alarmSeconds * 1000,
  keep: values.keep,
  cluster: values.cluster,
  readDatabase: values.cluster || values["read-database"],
});
console.log(formatSummary(summary));
process.exit(isClean(summary) ? 0 : 1);
