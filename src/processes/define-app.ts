import type { Decider } from "../core/decider.ts";
import type { Hono } from "hono";
import type { Sql } from "postgres";
import type { Config } from "../config.ts";
import type { ConsumerDefinition } from "../consumers/consumer-definition.ts";
import type { EventStore } from "../core/event-store.ts";
import type { PersonalDataPolicy } from "../core/personal-data.ts";
import type { Upcasters } from "../core/upcasters.ts";
import type { AppliedCheck } from "../http/freshness.ts";
import type { Logger } from "../log.ts";
import type { SagaDefinition } from "../sagas/saga-definition.ts";
import type { Serve } from "./process-kit.ts";
import type { WiredApp } from "./wire-app.ts";

/** What an app's factories get in every process: its databases, the event store, a log and its own config. */
export type AppContext<C> = {
  /** The process: `api`, `consumer`, `saga`, `cli`, or what a test names. */
  role: string;
  /** The write database (events, outbox) and the read database (read models, inboxes, sagas). */
  sql: Sql;
  readSql: Sql;
  store: EventStore;
  log: Logger;
  /** The app's own settings, as its `config` parsed them from the environment. */
  config: C;
  /** The channel the store notifies on each append; sagas are woken on `<channel>_sagas`. */
  notifyChannel: string;
  /** The fault point the failure tests set (EVENTLINE_FAULT), if any. */
  fault?: string;
};

/** What routes and sagas get besides: the app's services and the read-your-writes check. */
export type ServicesContext<C, S> = AppContext<C> & { services: S; hasApplied: AppliedCheck };

/** What an app's own CLI command gets: eventline's config, the app's, a log, a server, and the wired app. */
export type CommandContext<C, S> = {
  config: Config;
  appConfig: C;
  log: Logger;
  serve: Serve;
  /** Connects to the databases and wires the app; `end()` closes the connections. */
  wire: (role?: string, poolMax?: number) => WiredApp<C, S> & { end(): Promise<void> };
};

export type AppCommand<C, S> = {
  usage: string;
  summary: string;
  run: (ctx: CommandContext<C, S>, args: string[]) => Promise<void>;
};

/**
 * An application on eventline: its name and API description, the policies its store applies, and the
 * factories for its services, routes, read models and sagas. Every process (`api`, `relay`, `consumer`,
 * `saga`, `migrate`, the CLI) takes one of these; nothing in eventline knows any app's domain.
 */
export type AppDefinition<C = undefined, S = undefined> = {
  /** A lower-case name: in usage texts, log lines and Postgres application names. */
  name: string;
  /** The command users type to run this app's entry file, for usage texts (default: `bun <entry file>`). */
  bin?: string;
  openapi?: { title: string; version: string; description?: string };
  /** Parses the app's own settings from the environment; throw a ConfigError to refuse them. */
  config?: (env: Record<string, string | undefined>) => C;
  personalData?: PersonalDataPolicy;
  upcasters?: Upcasters;
  readModels?: ConsumerDefinition[];
  /**
   * The decider of each stream category (`invoice` for `invoice-…` streams), for the console's view of a
   * stream's state as of any version.
   */
  // biome-ignore lint/suspicious/noExplicitAny: each category folds events of its own types.
  deciders?: Record<string, Decider<any, any, any>>;
  services?: (ctx: AppContext<C>) => S;
  routes?: (ctx: ServicesContext<C, S>) => Hono[];
  // biome-ignore lint/suspicious/noExplicitAny: each saga has data of its own type; the worker stores them alike.
  sagas?: (ctx: ServicesContext<C, S>) => SagaDefinition<any>[];
  /** CLI commands of the app's own, beside eventline's. */
  commands?: Record<string, AppCommand<C, S>>;
  /**
   * The roles the app's routes check, and what its tokens' subjects are (`member`, `tenant`): the `token` command
   * takes `--<subjectFlag> <id>` and refuses roles not listed here.
   */
  auth?: { roles?: readonly string[]; subjectFlag?: string };
  /** Fault points the app trips itself (read from `AppContext.fault`), for its failure tests. */
  faults?: readonly string[];
};

/** Checks an app definition and returns it typed, so factories see the config and services they declare. */
export function defineApp<C = undefined, S = undefined>(app: AppDefinition<C, S>): AppDefinition<C, S> {
  if (!/^[a-z][a-z0-9-]*$/.test(app.name)) throw new TypeError(`app name ${app.name} must be lower-case letters, digits and -`);
  const names = new Set<string>();
  for (const def of app.readModels ?? []) {
    if (names.has(def.name)) throw new TypeError(`two read models of ${app.name} are named ${def.name}`);
    names.add(def.name);
  }
  return app;
}
