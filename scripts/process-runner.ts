import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const root = join(import.meta.dirname, "..");

export type RunningProcess = {
  name: string;
  lines: string[];
  exited: Promise<number>;
  /** The signal that ended the process (SIGKILL, say), once it has exited by one. */
  signal(): string | null;
  pid: number;
  stop(signal?: "SIGTERM" | "SIGINT" | "SIGKILL"): Promise<number>;
  /** The most memory the process has held resident so far (Linux's VmHWM), in MB; null where unknown. */
  peakRssMb(): number | null;
};

/** A process's peak resident memory in MB from /proc (Linux only), or null. */
export function peakRssMb(pid: number): number | null {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/** The shop's long-running processes by name, as `bun examples/shop/main.ts` takes them. */
export const shopProcesses: Record<string, string[]> = {
  provider: ["payment-provider"],
  api: ["api"],
  relay: ["relay"],
  consumers: ["consumer", "all"],
  saga: ["saga"],
};

/**
 * Runs `bun <entry> <args>` (the shop's entry file unless another is given) with the given environment,
 * keeping every line it prints.
 */
export function startProcess(
  name: string,
  args: string[],
  env: Record<string, string | undefined>,
  entry = join(root, "examples", "shop", "main.ts"),
): RunningProcess {
  const proc = Bun.spawn([process.execPath, entry, ...args], {
    cwd: dirname(entry),
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let rest = "";
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      const parts = (rest + decoder.decode(r.value)).split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts);
    }
    if (rest) lines.push(rest);
  };
  const done = Promise.all([collect(proc.stdout), collect(proc.stderr)]);
  const exited = proc.exited.then(async (code) => {
    await done;
    return code;
  });
  return {
    name,
    lines,
    exited,
    pid: proc.pid,
    signal: () => (proc.signalCode === null || proc.signalCode === undefined ? null : String(proc.signalCode)),
    peakRssMb: () => peakRssMb(proc.pid),
    async stop(signal = "SIGTERM") {
      proc.kill(signal);
      return exited;
    },
  };
}

/** Parsed JSON log lines of a process (other lines are skipped). */
export function jsonLines(p: RunningProcess): Record<string, unknown>[] {
  return p.lines.flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port as number;
  server.stop(true);
  return port;
}

/**
 * What the shop's processes need to run beside others on one machine: the API's and the payment
 * provider's ports, an exchange, queue prefix and NOTIFY channel of their own (`<name>.<tag>`), and the
 * probes' ports left to the system. `base` is the API's URL.
 */
export function shopProcessEnv(name: string, tag: string): { env: Record<string, string>; base: string } {
  const port = freePort();
  const providerPort = freePort();
  return {
    base: `http://127.0.0.1:${port}`,
    env: {
      EVENTS_EXCHANGE: `${name}.${tag}`,
      QUEUE_PREFIX: `${name}.${tag}`,
      NOTIFY_CHANNEL: `${name.replace(/\W/g, "_")}_${tag}`,
      PORT: String(port),
      PAYMENT_PROVIDER_PORT: String(providerPort),
      PAYMENT_PROVIDER_URL: `http://127.0.0.1:${providerPort}`,
      RELAY_METRICS_PORT: "0",
      CONSUMER_METRICS_PORT: "0",
      SAGA_METRICS_PORT: "0",
    },
  };
}
