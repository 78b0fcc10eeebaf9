/**
 * The console's data-quality page, `GET /quality` (behind the dashboard's session): open incidents
 * first (with ack and mute buttons), then the newest resolved ones, then every monitor with its
 * latest judged bucket (anomalous ones first, then newest first), then the newest anomalous
 * buckets of all monitors. Each monitor and incident with a chart links to its page.
 */
import type { FC } from "hono/jsx";
import { createRouter, hiddenRoute } from "../http/routers.ts";
import { getManifest } from "../models/manifest.ts";
import { chartPath } from "../ops/incidents.ts";
import { type ChartBucket, formatTime, formatValue } from "./chart-geometry.ts";
import { expectedText, zText } from "./charts.tsx";
import { ConsolePage, pageHeaders } from "./console-page.tsx";
import { consoleIncidents } from "./incident-data.ts";
import { IncidentTable } from "./incident-list.tsx";
import { knownMonitorIds, latestStates, newestAnomalies } from "./monitor-data.ts";
import { AnomalyTable } from "./monitor-page.tsx";

export const qualityRoutes = createRouter("session");
qualityRoutes.use("/quality", pageHeaders);

const resolvedShown = 20;
const anomaliesShown = 50;

qualityRoutes.openapi(hiddenRoute("get", "/quality"), async (c) => {
  const now = new Date();
  const ids = await knownMonitorIds(c.env.DB, c.var.runtime.config, getManifest());
  const [incidents, states, anomalies] = await Promise.all([
    consoleIncidents(c.env.DB, resolvedShown),
    latestStates(c.env.DB, ids),
    newestAnomalies(c.env.DB, anomaliesShown),
  ]);
  // Anomalous first, then the most recently judged, then those not judged yet, by id.
  const rank = (id: string) => {
    const b = states.get(id);
    return [b?.anomalous ? 0 : 1, b ? -Date.parse(b.start) : Number.POSITIVE_INFINITY] as const;
  };
  const monitors = [...ids].sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1] || a.localeCompare(b);
  });
  return c.html(
    <ConsolePage title="data quality" current="/quality">
      {c.req.query("done") ? <p class="ok">{c.req.query("done")}</p> : null}
      <section id="open-incidents">
        <h2>Open incidents ({incidents.open.length})</h2>
        {incidents.open.length === 0 ? <p class="ok">Nothing is open.</p> : <IncidentTable incidents={incidents.open} now={now} actions />}
      </section>
      <section id="monitor-states">
        <h2>Monitors ({monitors.length})</h2>
        <MonitorStates ids={monitors} states={states} />
      </section>
      <section id="anomalies">
        <h2>Newest anomalies</h2>
        {anomalies.length === 0 ? <p class="muted">No monitor has flagged a bucket.</p> : <AnomalyTable anomalies={anomalies} />}
      </section>
      <section id="resolved-incidents">
        <h2>Recently resolved incidents</h2>
        {incidents.resolved.length === 0 ? (
          <p class="muted">None yet.</p>
        ) : (
          <IncidentTable incidents={incidents.resolved} now={now} actions={false} />
        )}
      </section>
    </ConsolePage>,
  );
});

/** Judged monitors in a table; those not judged yet folded away in one line, as there are many on a new pipeline. */
const MonitorStates: FC<{ ids: readonly string[]; states: ReadonlyMap<string, ChartBucket> }> = ({ ids, states }) => {
  const waiting = ids.filter((id) => !states.has(id));
  return (
    <>
      {states.size === 0 ? <p class="muted">No monitor has judged a bucket yet: each judges an hour once it is complete.</p> : null}
      <table>
        <thead>
          <tr>
            <th>Monitor</th>
            <th>State</th>
            <th>Latest bucket</th>
            <th>Value</th>
            <th>Expected</th>
            <th>z</th>
          </tr>
        </thead>
        <tbody>
          {ids.map((id) => {
            const b = states.get(id);
            return b ? (
              <tr data-monitor={id} data-state={b.anomalous ? "anomalous" : "normal"}>
                <td>
                  <a href={chartPath(id)}>{id}</a>
                </td>
                <td class={b.anomalous ? "bad" : "ok"}>{b.anomalous ? "anomalous" : "normal"}</td>
                <td>{formatTime(b.start)}</td>
                <td>{formatValue(b.value)}</td>
                <td>{expectedText(b)}</td>
                <td>{zText(b.z)}</td>
              </tr>
            ) : null;
          })}
        </tbody>
      </table>
      {waiting.length ? (
        <details id="not-judged">
          <summary>{waiting.length} monitors not judged yet</summary>
          <ul>
            {waiting.map((id) => (
              <li data-monitor={id} data-state="not_judged">
                <a href={chartPath(id)}>{id}</a>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </>
  );
};
