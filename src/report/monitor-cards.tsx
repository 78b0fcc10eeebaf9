/**
 * The dashboard's monitor cards: one per stream (its volume monitor) and one per model that
 * anomaly tests watch (a chart per test), each chart a thumbnail of its latest week of buckets
 * linking to the monitor's page, with the subject's incidents listed beside it: every open one, then
 * the newest resolved.
 */
import type { FC } from "hono/jsx";
import type { Incident } from "../db/schema.ts";
import { chartPath } from "../ops/incidents.ts";
import { type ChartBucket, compactSize, MonitorChart } from "./charts.tsx";
import { isAbout } from "./incident-data.ts";
import { IncidentItems } from "./incident-list.tsx";
import type { ChartSubject } from "./monitor-data.ts";

/** Resolved incidents shown beside a chart, after every open one. */
const resolvedShown = 3;

export const MonitorCards: FC<{
  subjects: readonly ChartSubject[];
  buckets: ReadonlyMap<string, ChartBucket[]>;
  incidents: { open: readonly Incident[]; resolved: readonly Incident[] };
  now: Date;
}> = ({ subjects, buckets, incidents, now }) => (
  <section id="monitors">
    <h2>Monitors</h2>
    <p class="muted">
      The latest week of each monitor: the line is the value, the shaded band the expected range, red diamonds anomalies. See{" "}
      <a href="/quality">data quality</a> for every monitor and open incident.
    </p>
    <div class="cards">
      {subjects.map((s, i) => (
        <article class="card" data-subject={s.subject} data-kind={s.kind}>
          <div>
            {s.charts.map((chart, j) => (
              <figure style="margin:0 0 8px">
                <figcaption>
                  <a href={chartPath(chart.monitorId)}>
                    <strong>{s.label}</strong> · {chart.label}
                  </a>
                </figcaption>
                <a href={chartPath(chart.monitorId)} aria-label={`${chart.monitorId}: open its chart`}>
                  <MonitorChart
                    monitorId={chart.monitorId}
                    buckets={buckets.get(chart.monitorId) ?? []}
                    size={compactSize}
                    domId={`m${i}-${j}`}
                  />
                </a>
              </figure>
            ))}
          </div>
          <div class="incidents">
            <h3>Incidents</h3>
            <IncidentItems
              incidents={[
                ...incidents.open.filter((i) => isAbout(s, i)),
                ...incidents.resolved.filter((i) => isAbout(s, i)).slice(0, resolvedShown),
              ]}
              now={now}
            />
          </div>
        </article>
      ))}
    </div>
  </section>
);
