/**
 * A monitor's page in the console, `GET /monitors/:id` (behind the dashboard's session): its
 * chart over the latest week of buckets (or `?from=&to=`, ISO-8601, inclusive on the bucket's
 * start, as the monitors API takes them), its incidents, the anomalous buckets of that range newest
 * first, and the other monitors of the same subject. Any monitor id the pipeline declares or that has judged
 * buckets has a page; another is a 404.
 */
import { createRoute } from "@hono/zod-openapi";
import type { FC } from "hono/jsx";
import { z } from "zod";
import { createRouter } from "../http/routers.ts";
import { SluiceError } from "../lib/errors.ts";
import { getManifest } from "../models/manifest.ts";
import { chartPath } from "../ops/incidents.ts";
import { type ChartBucket, formatTime, formatValue } from "./chart-geometry.ts";
import { bucketText, expectedText, MonitorChart, zText } from "./charts.tsx";
import { ConsolePage, pageHeaders } from "./console-page.tsx";
import { monitorIncidents } from "./incident-data.ts";
import { IncidentItems } from "./incident-list.tsx";
import { bucketsBetween, knownMonitorIds, latestBuckets } from "./monitor-data.ts";

export const monitorPageRoutes = createRouter("session");
monitorPageRoutes.use("/monitors/*", pageHeaders);

const dayMs = 86_400_000;
const instant = z.iso.datetime({ offset: true }).optional();
const query = z
  .object({ from: instant, to: instant })
  .refine((r) => r.from === undefined || r.to === undefined || Date.parse(r.from) <= Date.parse(r.to), {
    message: "from must not be after to",
    path: ["to"],
  });

export const monitorHref = (id: string) => `/monitors/${encodeURIComponent(id)}`;

/** `stream:shop.orders:volume` → `stream:shop.orders:`: the prefix its sibling monitors share (none for `test:<id>`). */
const familyOf = (id: string) => {
  const parts = id.split(":");
  return parts.length >= 3 ? `${parts.slice(0, -1).join(":")}:` : undefined;
};

monitorPageRoutes.openapi(
  createRoute({
    method: "get",
    path: "/monitors/{id}",
    hide: true,
    request: { params: z.object({ id: z.string() }), query },
    responses: { 200: { description: "A monitor's chart page" } },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { from, to } = c.req.valid("query");
    const known = await knownMonitorIds(c.env.DB, c.var.runtime.config, getManifest());
    if (!known.includes(id)) throw new SluiceError("not_found", `no monitor ${id}`);
    const ranged = from !== undefined || to !== undefined;
    const buckets = ranged ? await bucketsBetween(c.env.DB, id, from, to) : ((await latestBuckets(c.env.DB, [id])).get(id) ?? []);
    const incidents = await monitorIncidents(c.env.DB, id, 20);
    const family = familyOf(id);
    const siblings = family ? known.filter((other) => other !== id && other.startsWith(family)) : [];
    return c.html(
      <ConsolePage title={id}>
        <section id="chart">
          <h2>{id}</h2>
          <Ranges id={id} buckets={buckets} />
          <MonitorChart monitorId={id} buckets={buckets} domId="monitor" />
          <Legend />
          {buckets.length ? <p>Latest: {bucketText(buckets[buckets.length - 1]!)}</p> : null}
        </section>
        <section id="monitor-incidents">
          <h2>Incidents</h2>
          <IncidentItems incidents={incidents} now={new Date()} />
        </section>
        <Anomalies buckets={buckets} />
        {siblings.length ? (
          <section id="related">
            <h2>Other monitors of {family!.slice(0, -1)}</h2>
            <ul>
              {siblings.map((s) => (
                <li>
                  <a href={chartPath(s)}>{s}</a>
                </li>
              ))}
            </ul>
          </section>
        ) : null}
      </ConsolePage>,
    );
  },
);

/** Links to the last day, week and 30 days before the latest bucket shown, and to all history. */
const Ranges: FC<{ id: string; buckets: readonly ChartBucket[] }> = ({ id, buckets }) => {
  const end = Date.parse(buckets[buckets.length - 1]?.end ?? new Date().toISOString());
  const link = (days: number | null) =>
    `${chartPath(id)}?from=${encodeURIComponent(new Date(days === null ? 0 : end - days * dayMs).toISOString())}`;
  return (
    <p class="muted">
      Shown: {buckets.length} buckets{buckets.length ? ` from ${formatTime(buckets[0]!.start)} to ${formatTime(buckets.at(-1)!.end)}` : ""}.
      Range: <a href={link(1)}>last day</a> · <a href={link(7)}>last week</a> · <a href={link(30)}>last 30 days</a> ·{" "}
      <a href={link(null)}>all history</a>
    </p>
  );
};

const Legend: FC = () => (
  <p class="legend muted">
    <span>
      <i style="background:#1d5a8f;height:2px" />
      value
    </span>
    <span>
      <i style="background:#cfe0f1" />
      expected range
    </span>
    <span>
      <i style="background:#b3261e;transform:rotate(45deg);width:8px;height:8px" />
      anomaly
    </span>
  </p>
);

const Anomalies: FC<{ buckets: readonly ChartBucket[] }> = ({ buckets }) => {
  const anomalous = buckets.filter((b) => b.anomalous).reverse();
  return (
    <section id="anomalies">
      <h2>Anomalous buckets in this range ({anomalous.length})</h2>
      {anomalous.length === 0 ? <p class="muted">None.</p> : <AnomalyTable anomalies={anomalous} />}
    </section>
  );
};

/** Anomalous buckets, one a row, in the order given; with a link to each one's monitor when they are of several. */
export const AnomalyTable: FC<{ anomalies: readonly (ChartBucket & { monitorId?: string })[] }> = ({ anomalies }) => (
  <table>
    <tbody>
      {anomalies.map((a) => (
        <tr data-monitor={a.monitorId} data-start={a.start}>
          <td>{formatTime(a.start)}</td>
          {a.monitorId === undefined ? null : (
            <td>
              <a href={chartPath(a.monitorId)}>{a.monitorId}</a>
            </td>
          )}
          <td>value {formatValue(a.value)}</td>
          <td>{expectedText(a)}</td>
          <td>{zText(a.z)}</td>
        </tr>
      ))}
    </tbody>
  </table>
);
