/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";

/** The console's HTML: one layout, one component per page; every figure the client updates has an id. */

const NAV = [
  ["/console", "Overview"],
  ["/console/streams", "Streams"],
  ["/console/outbox", "Outbox"],
  ["/console/read-models", "Read models"],
  ["/console/sagas", "Sagas"],
  ["/console/personal-data", "Personal data"],
] as const;

export function Layout(props: { title: string; app: string; csrf?: string; path: string; children: Child; charts?: boolean }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {props.csrf ? <meta name="csrf-token" content={props.csrf} /> : null}
        <title>{`${props.title} · ${props.app} console`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/console/assets/console.css" />
        {props.charts ? <link rel="stylesheet" href="/console/assets/uPlot.min.css" /> : null}
      </head>
      <body>
        <header>
          <strong>{props.app} console</strong>
          {props.csrf ? (
            <nav aria-label="Console">
              {NAV.map(([href, label]) => (
                <a href={href} aria-current={props.path === href ? "page" : undefined}>
                  {label}
                </a>
              ))}
              <button type="button" data-action="/console/logout" data-then="/console/login">
                Log out
              </button>
            </nav>
          ) : null}
        </header>
        <main>
          <h1>{props.title}</h1>
          <p id="message" role="status" aria-live="polite" />
          {props.children}
        </main>
        {props.charts ? <script src="/console/assets/uPlot.iife.min.js" /> : null}
        <script src="/console/assets/console.js" />
      </body>
    </html>
  );
}

export function LoginPage() {
  return (
    <form id="login" class="card">
      <label for="token">Admin token or an admin's bearer JWT</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required />
      <button type="submit">Log in</button>
    </form>
  );
}

/** A table's header row: one column heading each. */
const Columns = (props: { names: string[] }) => (
  <thead>
    <tr>
      {props.names.map((name) => (
        <th scope="col">{name}</th>
      ))}
    </tr>
  </thead>
);

const Metric = (props: { id: string; label: string }) => (
  <div class="metric">
    <span class="label">{props.label}</span>
    <span class="value" id={props.id}>
      …
    </span>
  </div>
);

export function OverviewPage() {
  return (
    <>
      <section class="metrics" aria-label="Now">
        <Metric id="outbox-depth" label="Outbox depth" />
        <Metric id="outbox-oldest" label="Oldest pending (s)" />
        <Metric id="parked-streams" label="Parked streams" />
        <Metric id="events-last-hour" label="Events, last hour" />
      </section>
      <section aria-labelledby="chart-title">
        <h2 id="chart-title">Events appended per minute, last hour</h2>
        <div id="events-chart" class="chart" />
      </section>
      <section aria-labelledby="lag-title">
        <h2 id="lag-title">Read models</h2>
        <table>
          <Columns names={["Read model", "Lag (events)", "Oldest unapplied (s)", "Dead letters"]} />
          <tbody id="lag-rows" />
        </table>
      </section>
      <section aria-labelledby="sagas-title">
        <h2 id="sagas-title">Sagas by status</h2>
        <ul id="saga-statuses" class="inline" />
      </section>
    </>
  );
}

type Parked = { streamId: string; version: number; attempts: number; lastError: string | null };

export function OutboxPage(props: { depth: number; oldestAgeSeconds: number; parked: Parked[] }) {
  return (
    <>
      <p>
        {props.depth} rows pending, the oldest {props.oldestAgeSeconds.toFixed(1)} s old.
      </p>
      <h2>Parked streams</h2>
      {props.parked.length === 0 ? (
        <p id="no-parked">No stream is parked.</p>
      ) : (
        <>
          <button type="button" data-action="/console/actions/outbox/release-all" data-confirm="Release every parked stream?">
            Release all
          </button>
          <table id="parked">
            <Columns names={["Stream", "From version", "Attempts", "Last error", "Action"]} />
            <tbody>
              {props.parked.map((p) => (
                <tr data-stream={p.streamId}>
                  <td>
                    <a href={`/console/streams?id=${encodeURIComponent(p.streamId)}`}>{p.streamId}</a>
                  </td>
                  <td>{p.version}</td>
                  <td>{p.attempts}</td>
                  <td>{p.lastError ?? ""}</td>
                  <td>
                    <button type="button" data-action={`/console/actions/outbox/${encodeURIComponent(p.streamId)}/release`}>
                      Release {p.streamId}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

type LagRow = { consumer: string; lag: number; appliedPosition: number; oldestUnappliedAgeSeconds: number };

export function ReadModelsPage(props: { lags: LagRow[]; deadLetters: Record<string, number> }) {
  return (
    <table>
      <Columns names={["Read model", "Applied position", "Lag", "Dead letters", "Audit", "Rebuild"]} />
      <tbody>
        {props.lags.map((l) => (
          <tr>
            <td>
              <a href={`/console/read-models/${encodeURIComponent(l.consumer)}`}>{l.consumer}</a>
            </td>
            <td>{l.appliedPosition}</td>
            <td>{l.lag}</td>
            <td>{props.deadLetters[l.consumer] ?? 0}</td>
            <td>
              <button
                type="button"
                data-action={`/console/actions/read-models/${encodeURIComponent(l.consumer)}/audit`}
                data-stay="1"
              >
                Audit {l.consumer}
              </button>
            </td>
            <td>
              <button
                type="button"
                data-action={`/console/actions/read-models/${encodeURIComponent(l.consumer)}/rebuild`}
                data-confirm={`Rebuild ${l.consumer} from the store?`}
                data-progress={l.consumer}
              >
                Rebuild {l.consumer}
              </button>
              <progress id={`rebuild-${l.consumer}`} max="100" value="0" aria-label={`Rebuild of ${l.consumer}`} hidden />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type DeadLetter = {
  messageId: string;
  routingKey: string;
  streamId?: string;
  version?: number;
  reason: string;
  attempts: number;
  deadAt?: string;
};

export function ReadModelPage(props: { name: string; deadLetters: DeadLetter[] }) {
  const base = `/console/actions/read-models/${encodeURIComponent(props.name)}/dead-letters`;
  return (
    <>
      <h2>Dead letters</h2>
      {props.deadLetters.length === 0 ? (
        <p id="no-dead-letters">No dead letters.</p>
      ) : (
        <>
          <button type="button" data-action={`${base}/replay`}>
            Replay all
          </button>{" "}
          <button
            type="button"
            data-action={`${base}/purge`}
            data-confirm={`Drop every dead letter of ${props.name}? They cannot be replayed afterwards.`}
          >
            Purge
          </button>
          <table id="dead-letters">
            <Columns names={["Message", "Stream", "Reason", "Attempts", "Action"]} />
            <tbody>
              {props.deadLetters.map((d) => (
                <tr data-message={d.messageId}>
                  <td>
                    <details>
                      <summary>{d.messageId}</summary>
                      <pre>{JSON.stringify(d, null, 2)}</pre>
                    </details>
                  </td>
                  <td>
                    {d.streamId ? (
                      <a href={`/console/streams?id=${encodeURIComponent(d.streamId)}`}>{`${d.streamId}@${d.version}`}</a>
                    ) : (
                      ""
                    )}
                  </td>
                  <td>{d.reason}</td>
                  <td>{d.attempts}</td>
                  <td>
                    <button type="button" data-action={`${base}/replay`} data-body={JSON.stringify({ ids: [d.messageId] })}>
                      Replay {d.messageId}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

type Saga = {
  sagaId: string;
  sagaType: string;
  status: string;
  currentStep: number;
  compensationQueue: string[];
  lastError: string | null;
  history: { at: string; step: string; outcome: string }[];
};

export function SagasPage(props: { sagas: Saga[]; status?: string }) {
  const statuses = ["needs_attention", "running", "compensating", "completed", "compensated"];
  return (
    <>
      <nav aria-label="Saga status" class="inline">
        <a href="/console/sagas">all</a>
        {statuses.map((s) => (
          <a href={`/console/sagas?status=${s}`} aria-current={props.status === s ? "page" : undefined}>
            {s}
          </a>
        ))}
      </nav>
      <table id="sagas">
        <Columns names={["Saga", "Status", "Step", "Last error", "Action"]} />
        <tbody>
          {props.sagas.map((s) => (
            <tr data-saga={s.sagaId}>
              <td>
                <a href={`/console/sagas/${encodeURIComponent(s.sagaId)}`}>{s.sagaId}</a>
              </td>
              <td>{s.status}</td>
              <td>{s.currentStep}</td>
              <td>{s.lastError ?? ""}</td>
              <td>
                {s.status === "needs_attention" ? (
                  <button type="button" data-action={`/console/actions/sagas/${encodeURIComponent(s.sagaId)}/retry`}>
                    Retry {s.sagaId}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function SagaPage(props: { saga: Saga }) {
  const s = props.saga;
  return (
    <>
      <p>
        {s.sagaType}, {s.status}, step {s.currentStep}
        {s.compensationQueue.length ? `, still to compensate: ${s.compensationQueue.join(", ")}` : ""}
      </p>
      {s.status === "needs_attention" ? (
        <button type="button" data-action={`/console/actions/sagas/${encodeURIComponent(s.sagaId)}/retry`}>
          Retry {s.sagaId}
        </button>
      ) : null}
      <h2>History</h2>
      <ol id="history">
        {s.history.map((h) => (
          <li>
            <time datetime={h.at}>{h.at}</time> {h.step}: {h.outcome}
          </li>
        ))}
      </ol>
    </>
  );
}

type Event = {
  eventId: string;
  type: string;
  version: number;
  position: number;
  occurredAt: string;
  metadata: unknown;
  data: unknown;
};

export function StreamsPage(props: {
  id?: string;
  category?: string;
  streams: string[];
  events: Event[];
  touched: Record<string, { consumers: string[]; sagas: string[] }>;
  /** The first version of the next page, when there is one. */
  next?: number;
  /** Whether the app can fold this stream into a state (its category has a decider). */
  canFold: boolean;
}) {
  return (
    <>
      <form method="get" action="/console/streams" class="inline">
        <label for="stream-id">Stream id</label>
        <input id="stream-id" name="id" value={props.id ?? ""} />
        <label for="category">or category</label>
        <input id="category" name="category" value={props.category ?? ""} />
        <button type="submit">Find</button>
      </form>
      {props.streams.length ? (
        <ul id="streams">
          {props.streams.map((s) => (
            <li>
              <a href={`/console/streams?id=${encodeURIComponent(s)}`}>{s}</a>
            </li>
          ))}
        </ul>
      ) : null}
      {props.id ? (
        <>
          <p>
            Personal fields show as redacted.{" "}
            <button
              type="button"
              data-action={`/console/actions/streams/${encodeURIComponent(props.id)}/open`}
              data-render="events"
            >
              Show personal data
            </button>
          </p>
          <table id="events">
            <Columns names={["Version", "Type", "Position", "Time", "Data and metadata", "Touched", "State"]} />
            <tbody>
              {props.events.map((e) => (
                <tr data-event={e.eventId}>
                  <td>{e.version}</td>
                  <td>{e.type}</td>
                  <td>{e.position}</td>
                  <td>
                    <time datetime={e.occurredAt}>{e.occurredAt}</time>
                  </td>
                  <td>
                    <pre class="data">{JSON.stringify(e.data, null, 1)}</pre>
                    <details>
                      <summary>metadata</summary>
                      <pre>{JSON.stringify(e.metadata, null, 1)}</pre>
                    </details>
                  </td>
                  <td>
                    {(props.touched[e.eventId]?.consumers ?? []).join(", ")}
                    {(props.touched[e.eventId]?.sagas ?? []).map((s) => (
                      <>
                        {" "}
                        <a href={`/console/sagas/${encodeURIComponent(s)}`}>{s}</a>
                      </>
                    ))}
                  </td>
                  <td>
                    {props.canFold ? (
                      <button
                        type="button"
                        data-action={`/console/actions/streams/${encodeURIComponent(props.id as string)}/state`}
                        data-body={JSON.stringify({ version: e.version })}
                        data-render="state"
                      >
                        State as of {e.version}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {props.next ? (
            <a href={`/console/streams?id=${encodeURIComponent(props.id)}&from=${props.next}`}>Next {props.next}…</a>
          ) : null}
          <h2>State</h2>
          <pre id="state">Choose a version to see the stream's state as of it (personal fields in clear).</pre>
        </>
      ) : null}
    </>
  );
}

export function PersonalDataPage() {
  return (
    <form
      id="forget"
      class="card"
      data-action="/console/actions/forget"
      data-confirm="Forget this subject? Their personal fields become unreadable everywhere, for good."
    >
      <label for="subject">Subject id</label>
      <input id="subject" name="subjectId" required />
      <button type="submit">Forget</button>
    </form>
  );
}
