export { freePort, jsonLines, type RunningProcess, startProcess } from "../../scripts/process-runner.ts";
