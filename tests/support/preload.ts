// Loaded before every test file (bunfig.toml). Integration tests never skip: when the servers are not
// reachable this starts them through scripts/infra, and if that fails the tests fail loudly.
import { setDefaultTimeout } from "bun:test";
import { ensureInfraEnv } from "../../scripts/infra-env.ts";

// Integration tests wait on real servers and processes; 5 s (Bun's default) is too tight for them.
// This reaches only the first test file (Bun 1.4); `npm test` passes --timeout 30000 for all of them.
setDefaultTimeout(30_000);

await ensureInfraEnv();
