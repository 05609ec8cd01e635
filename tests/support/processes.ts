export { freePort, jsonLines, type RunningProcess, shopProcesses, startProcess } from "../../scripts/process-runner.ts";
