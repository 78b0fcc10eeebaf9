/**
 * The operations console at `/`: server-rendered with Hono JSX, no client framework. Sign-in
 * posts an admin token and gets a signed session cookie; the main screen shows every source and
 * stream, a chart per monitored stream and model (monitor-cards.tsx), freshness, model runs, pull
 * runs and the lineage graph (as SVG), with buttons to replay, redrive and build now; the monitor
 * and data-quality pages have files of their own. Every POST must come from this origin (CSRF check, http/csrf.ts);
 * failed sign-ins are rate-limited per address; "sign out everywhere" revokes every session.
 * Signing in and out is public; the console and everything it does need a session.
 */
import type { FC } from "hono/jsx";
import { sameOriginOnly } from "../http/csrf.ts";
import { createRouter, hiddenRoute } from "../http/routers.ts";
import { endSession, revokeAllSessions, startSession } from "../http/session.ts";
import { isAdminToken } from "../lib/auth.ts";
import { SluiceError } from "../lib/errors.ts";
import { assertNotBlocked, authFailure } from "../lib/rate-limit.ts";
import { getManifest } from "../models/manifest.ts";
import { ConsolePage, Page, pageHeaders } from "./console-page.tsx";
import { type DashboardData, loadDashboard } from "./dashboard-data.ts";
import { consoleIncidents } from "./incident-data.ts";
import { type Lineage, layout, lineageOf } from "./lineage-graph.ts";
import { MonitorCards } from "./monitor-cards.tsx";
import { chartSubjects, latestBuckets } from "./monitor-data.ts";

export const signInRoutes = createRouter("public");
export const dashboardRoutes = createRouter("session");

dashboardRoutes.use("/", pageHeaders);
signInRoutes.use("/sign-in", pageHeaders);

// Browsers ask for it on every page; an empty answer keeps their consoles clean.
signInRoutes.openapi(hiddenRoute("get", "/favicon.ico"), (c) => c.body(null, 204, { "Cache-Control": "public, max-age=86400" }));

signInRoutes.openapi(hiddenRoute("get", "/sign-in"), (c) =>
  c.html(
    <Page title="Sluice · sign in">
      <header>
        <h1>Sluice</h1>
      </header>
      <main>
        <section>
          <h2>Sign in</h2>
          {c.req.query("error") ? <p class="bad">That token is not an admin token.</p> : null}
          <form method="post" action="/sign-in">
            <label>
              Admin token <input type="password" name="token" autocomplete="current-password" required />
            </label>{" "}
            <button type="submit">Sign in</button>
          </form>
        </section>
      </main>
    </Page>,
  ),
);

// Failed sign-ins count against the address as failed API tokens do (one budget for both), and
// an address over it is refused before its token is checked. Like every POST here, it must come
// from this origin, whatever the request's content type.
signInRoutes.openapi({ ...hiddenRoute("post", "/sign-in"), middleware: [sameOriginOnly] }, async (c) => {
  assertNotBlocked(c.req.raw.headers);
  const form = await c.req.parseBody();
  const token = typeof form.token === "string" ? form.token : "";
  if (!(await isAdminToken(token, c.var.runtime.settings))) {
    c.var.runtime.log.warn("dashboard.sign_in_failed", { requestId: c.var.requestId });
    const failure = await authFailure(c.var.runtime, c.req.raw.headers, new SluiceError("unauthorized", "not an admin token"));
    if (failure.code === "rate_limited") throw failure;
    return c.redirect("/sign-in?error=1", 303);
  }
  await startSession(c);
  return c.redirect("/", 303);
});

// Ends this browser's session only: the generation is shared by every session, so bumping it
// here would sign every other admin out too. "Sign out everywhere" is the revocation.
signInRoutes.openapi({ ...hiddenRoute("post", "/sign-out"), middleware: [sameOriginOnly] }, (c) => {
  endSession(c);
  return c.redirect("/sign-in", 303);
});

dashboardRoutes.openapi(hiddenRoute("post", "/sign-out-everywhere"), async (c) => {
  const generation = await revokeAllSessions(c);
  c.var.runtime.log.warn("dashboard.sessions_revoked", { requestId: c.var.requestId, generation });
  endSession(c);
  return c.redirect("/sign-in", 303);
});

dashboardRoutes.openapi(hiddenRoute("get", "/"), async (c) => {
  const { config } = c.var.runtime;
  const data = await loadDashboard(c.env.DB, config);
  const manifest = getManifest();
  const lineage = lineageOf(config, manifest);
  const subjects = chartSubjects(config, manifest);
  const [buckets, incidents] = await Promise.all([
    latestBuckets(
      c.env.DB,
      subjects.flatMap((s) => s.charts.map((chart) => chart.monitorId)),
    ),
    consoleIncidents(c.env.DB, 100),
  ]);
  const sources = [...new Set(data.streams.map((s) => s.source))];
  return c.html(
    <ConsolePage title="pipeline health" current="/">
      <section id="actions">
        <h2>Actions</h2>
        <form class="inline" method="post" action="/ui/build">
          <button type="submit">Build now</button>
        </form>{" "}
        <form class="inline" method="post" action="/ui/redrive">
          <button type="submit">Redrive dead letters</button>
        </form>{" "}
        <form class="inline" method="post" action="/ui/replay">
          <select name="source" aria-label="source">
            {sources.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
          <button type="submit">Replay the last 24 h</button>
        </form>
        {c.req.query("done") ? <p class="ok">{c.req.query("done")}</p> : null}
      </section>
      <Streams data={data} />
      <MonitorCards subjects={subjects} buckets={buckets} incidents={incidents} now={new Date()} />
      <Freshness data={data} />
      <Runs data={data} />
      <Pulls data={data} />
      <section id="lineage">
        <h2>Lineage</h2>
        <LineageSvg lineage={lineage} />
      </section>
    </ConsolePage>,
  );
});

const Streams: FC<{ data: DashboardData }> = ({ data }) => (
  <section id="streams">
    <h2>Sources and streams</h2>
    <table>
      <thead>
        <tr>
          <th>Source</th>
          <th>Stream</th>
          <th>Last 24 h</th>
          <th>Last received</th>
          <th>Accepted</th>
          <th>Loaded</th>
          <th>Quarantined</th>
          <th>Dead-lettered</th>
        </tr>
      </thead>
      <tbody>
        {data.streams.map((s) => (
          <tr data-source={s.source}>
            <td>{s.source}</td>
            <td>{s.stream}</td>
            <td>
              <Bars values={s.hourly} />
            </td>
            <td>{s.lastReceived ?? "never"}</td>
            <td>{s.accepted}</td>
            <td>{s.loaded}</td>
            <td class={s.quarantined ? "warn" : ""}>{s.quarantined}</td>
            <td class={s.deadLettered ? "bad" : ""}>{s.deadLettered}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </section>
);

const Bars: FC<{ values: number[] }> = ({ values }) => {
  const max = Math.max(1, ...values);
  return (
    <svg width="96" height="20" role="img" aria-label={`${values.reduce((a, b) => a + b, 0)} events in 24 h`}>
      {values.map((v, i) => (
        <rect x={i * 4} y={20 - Math.round((v / max) * 20)} width="3" height={Math.round((v / max) * 20)} fill="#2f6fa6" />
      ))}
    </svg>
  );
};

const statusClass = (status: string) =>
  ["pass", "success", "completed"].includes(status) ? "ok" : ["warn", "running"].includes(status) ? "warn" : "bad";

const Freshness: FC<{ data: DashboardData }> = ({ data }) => (
  <section id="freshness">
    <h2>Freshness</h2>
    {data.freshness.length === 0 ? <p>No freshness checks yet; they run with every model build.</p> : null}
    <table>
      <tbody>
        {data.freshness.map((f) => (
          <tr>
            <td>
              {f.source}.{f.table}
            </td>
            <td class={statusClass(f.status)}>{f.status}</td>
            <td>{f.ageSeconds === null ? "no data" : `${Math.round(f.ageSeconds / 60)} min old`}</td>
            <td>checked {f.checkedAt}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </section>
);

const Runs: FC<{ data: DashboardData }> = ({ data }) => (
  <section id="runs">
    <h2>Model runs</h2>
    <table>
      <tbody>
        {data.runs.map((r) => (
          <tr>
            <td>{r.runId}</td>
            <td class={statusClass(r.status)}>{r.status}</td>
            <td>{r.startedAt}</td>
            <td>
              {r.errors} errors, {r.failures} test failures, {r.skipped} skipped
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </section>
);

const Pulls: FC<{ data: DashboardData }> = ({ data }) => (
  <section id="pulls">
    <h2>Pull runs</h2>
    <table>
      <tbody>
        {data.pulls.map((p) => (
          <tr>
            <td>
              {p.source}/{p.stream}
            </td>
            <td class={statusClass(p.status)}>{p.status}</td>
            <td>
              {p.pages} pages, {p.records} records
            </td>
            <td>{p.error ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </section>
);

const colors = { source: "#10314d", stream: "#2f6fa6", seed: "#6b7c8f", model: "#1b7f3b", snapshot: "#7a4fa3", report: "#a86400" } as const;

const LineageSvg: FC<{ lineage: Lineage }> = ({ lineage }) => {
  const { x, y, columns, rows } = layout(lineage);
  const [w, h, gx, gy] = [170, 26, 200, 34];
  const pos = (id: string) => ({ cx: 10 + (x.get(id) ?? 0) * gx, cy: 10 + (y.get(id) ?? 0) * gy });
  return (
    <svg
      id="lineage-graph"
      width={columns * gx + 20}
      height={rows * gy + 20}
      role="img"
      aria-label="lineage: sources, streams, models and reports"
    >
      {lineage.edges.map((e) => {
        const a = pos(e.from);
        const b = pos(e.to);
        return <line x1={a.cx + w} y1={a.cy + h / 2} x2={b.cx} y2={b.cy + h / 2} stroke="#9fb3c8" />;
      })}
      {lineage.nodes.map((n) => {
        const p = pos(n.id);
        return (
          <g data-node={n.id}>
            <rect x={p.cx} y={p.cy} width={w} height={h} rx="5" fill="#fff" stroke={colors[n.type]} />
            <text x={p.cx + 6} y={p.cy + 17} font-size="11" fill={colors[n.type]}>
              {n.label.length > 26 ? `${n.label.slice(0, 25)}…` : n.label}
            </text>
          </g>
        );
      })}
    </svg>
  );
};
