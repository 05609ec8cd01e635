/**
 * The console's only script, served as /console/assets/console.js: the login, every action button (a
 * POST with the session's CSRF token, after a confirmation where it asks for one), the overview's live
 * figures and chart, and a rebuild's progress bar. Plain DOM and fetch, no framework.
 */
export const CONSOLE_SCRIPT = `"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const message = document.getElementById("message");
  const say = (text, bad) => {
    if (!message) return;
    message.textContent = text;
    message.className = bad ? "bad" : "good";
  };
  const post = async (url, body) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body ?? {}),
      credentials: "same-origin",
      redirect: "manual",
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(json.detail || json.title || "the action failed (" + res.status + ")");
    return json;
  };

  const login = document.getElementById("login");
  if (login) {
    login.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await post("/console/login", { token: login.token.value });
        location.href = "/console";
      } catch (error) {
        say(error.message, true);
      }
    });
  }

  const run = async (el, body) => {
    if (el.dataset.confirm && !confirm(el.dataset.confirm)) return;
    el.disabled = true;
    try {
      const result = await post(el.dataset.action, body ?? (el.dataset.body ? JSON.parse(el.dataset.body) : {}));
      if (el.dataset.then) return void (location.href = el.dataset.then);
      if (el.dataset.render === "events") return renderEvents(result.events);
      if (el.dataset.render === "state") {
        document.getElementById("state").textContent = JSON.stringify(result.state, null, 2);
        return say("state as of version " + result.version);
      }
      if (el.dataset.progress) return watchRebuild(el.dataset.progress);
      say(result.message || "done");
      if (!el.dataset.stay) setTimeout(() => location.reload(), 600);
    } catch (error) {
      say(error.message, true);
    } finally {
      el.disabled = false;
    }
  };
  for (const el of document.querySelectorAll("button[data-action]")) el.addEventListener("click", () => run(el));
  for (const form of document.querySelectorAll("form[data-action]"))
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      run(form, Object.fromEntries(new FormData(form)));
    });

  function renderEvents(events) {
    for (const e of events) {
      const cell = document.querySelector('tr[data-event="' + e.eventId + '"] pre.data');
      if (cell) cell.textContent = JSON.stringify(e.data, null, 1);
    }
    say("personal data shown for this page only");
  }

  async function watchRebuild(name) {
    const bar = document.getElementById("rebuild-" + name);
    if (bar) bar.hidden = false;
    // Watched for at most an hour; the rebuild itself goes on in the API process either way.
    for (const until = Date.now() + 3600 * 1000; Date.now() < until; ) {
      const all = await fetch("/console/api/rebuilds").then((r) => r.json());
      const p = all[name];
      if (p && bar) bar.value = p.percent;
      if (p && p.state !== "running") {
        say(p.state === "done" ? name + " rebuilt from " + p.applied + " events" : name + ": " + p.error, p.state !== "done");
        if (bar) bar.dataset.state = p.state;
        return;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    say("still rebuilding: see the read models page later");
  }

  const chartBox = document.getElementById("events-chart");
  if (chartBox) {
    let chart;
    const set = (id, v) => {
      const el = document.getElementById(id);
      if (el) el.textContent = String(v);
    };
    const refresh = async () => {
      const o = await fetch("/console/api/overview").then((r) => r.json());
      set("outbox-depth", o.outbox.depth);
      set("outbox-oldest", o.outbox.oldestAgeSeconds.toFixed(1));
      set("parked-streams", o.outbox.parked);
      set("events-last-hour", o.events.reduce((n, m) => n + m.count, 0));
      const rows = document.getElementById("lag-rows");
      rows.replaceChildren(
        ...o.readModels.map((r) => {
          const tr = document.createElement("tr");
          tr.dataset.readModel = r.consumer;
          for (const v of [r.consumer, r.lag, r.oldestUnappliedAgeSeconds.toFixed(1), r.deadLetters]) {
            const td = document.createElement("td");
            td.textContent = String(v);
            tr.append(td);
          }
          return tr;
        }),
      );
      const statuses = document.getElementById("saga-statuses");
      statuses.replaceChildren(
        ...Object.entries(o.sagas).map(([s, n]) => {
          const li = document.createElement("li");
          li.dataset.status = s;
          li.textContent = s + ": " + n;
          return li;
        }),
      );
      const xs = o.events.map((m) => Date.parse(m.minute) / 1000);
      const ys = o.events.map((m) => m.count);
      if (!chart && window.uPlot)
        chart = new uPlot(
          {
            width: Math.max(280, Math.min(chartBox.clientWidth - 16 || 600, 1100)),
            height: 220,
            scales: { y: { range: (_u, _min, max) => [0, Math.max(5, max)] } },
            series: [{}, { label: "events/min", stroke: "#2563eb", fill: "rgba(37,99,235,0.15)", points: { show: false } }],
          },
          [xs, ys],
          chartBox,
        );
      else if (chart) chart.setData([xs, ys]);
      document.body.dataset.refreshed = String(Date.now());
    };
    refresh().catch((e) => say(e.message, true));
    setInterval(() => refresh().catch((e) => say(e.message, true)), 2000);
  }
})();
`;

export const CONSOLE_CSS = `
:root { font-family: system-ui, sans-serif; color: #111; background: #fafafa; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: 0.6rem 1rem; background: #1f2937; color: #fff; }
header nav { display: flex; flex-wrap: wrap; gap: 0.8rem; align-items: center; }
header a { color: #e5e7eb; }
header a[aria-current="page"] { color: #fff; font-weight: 600; }
main { padding: 1rem; max-width: 1200px; }
a:focus-visible, button:focus-visible, input:focus-visible, summary:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
button { font: inherit; padding: 0.3rem 0.7rem; border-radius: 4px; border: 1px solid #374151; background: #fff; cursor: pointer; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1.5rem; display: block; overflow-x: auto; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 0.85rem; }
.metrics { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: 0.8rem; }
.metric { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 0.7rem; }
.metric .label { display: block; color: #4b5563; font-size: 0.85rem; }
.metric .value { font-size: 1.6rem; font-weight: 600; }
.card { display: grid; gap: 0.5rem; max-width: 28rem; background: #fff; border: 1px solid #e5e7eb; padding: 1rem; border-radius: 6px; }
.inline { display: flex; flex-wrap: wrap; gap: 0.6rem; align-items: center; list-style: none; padding: 0; }
.chart { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; min-height: 240px; }
#message.bad { color: #b91c1c; }
#message.good { color: #166534; }
`;
