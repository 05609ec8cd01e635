export { denoBinary } from "../../scripts/runtimes.ts";
