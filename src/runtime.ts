/** `eventline/runtime`: configuration, the process runners and the CLI, for Bun (and the API on Deno). */

/** Runs one command of an app (`api`, `relay`, `consumer <name>`, `saga`, `migrate`, the CLI) from argv. */
export { runApp, serveHttp } from "./processes/run-app.ts";
/** Wires an app on given connections: the store, services, routes and sagas, as every process does. */
export { wireApp, type WiredApp, type WireOptions } from "./processes/wire-app.ts";
/** eventline's settings from the environment (DATABASE_URL, AMQP_URL, ...); ConfigError lists what is wrong. */
export { loadConfig, type Config } from "./config.ts";
/** Bearer-token settings (AUTH_*), production mode and CORS origins; the development secret local runs use. */
export { DEV_JWT_SECRET, loadAuthConfig, type AuthConfig } from "./auth-config.ts";
/** JSON-lines (or, for a local run, pretty) logging. */
export { createLogger, type Level, type LogFormat } from "./log.ts";
/** The OpenTelemetry SDK for a process: exports spans over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export { startTelemetry, type Telemetry } from "./processes/start-telemetry.ts";
/** A process's databases, its graceful stop, its probe port. */
export { databases, onShutdown, serveProbe, type ProcessContext, type Serve } from "./processes/process-kit.ts";
/** The admin routes' dependencies on the real components. */
export { createAdminDeps, type AdminWiring } from "./processes/admin-deps.ts";
