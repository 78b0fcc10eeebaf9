/**
 * Incidents as the console shows them: a table on the data-quality page (kind, subject, when it
 * opened, how long it has lasted, value against expected, its chart, whether it is acked or muted,
 * and the buttons that ack and mute it), and a short list beside a chart. In: incident rows. Out:
 * markup; the buttons post to incident-actions.ts.
 */
import type { FC } from "hono/jsx";
import type { Incident } from "../db/schema.ts";
import { chartPath } from "../ops/incidents.ts";
import { lasted } from "../ops/notify.ts";
import { formatTime, formatValue } from "./chart-geometry.ts";

/** `12 vs expected 80–140`, `12`, or nothing for an incident that measured no value. */
export function valueText(i: Pick<Incident, "value" | "expectedLow" | "expectedHigh">): string {
  if (i.value === null) return "";
  const range =
    i.expectedLow === null || i.expectedHigh === null ? "" : ` vs expected ${formatValue(i.expectedLow)}–${formatValue(i.expectedHigh)}`;
  return `${formatValue(i.value)}${range}`;
}

const isMuted = (i: Incident, now: Date) => i.mutedUntil !== null && i.mutedUntil > now.toISOString();

/** Acked, muted (until when), both, or neither. */
export function stateText(i: Incident, now: Date): string {
  const states = [
    ...(i.ackedAt ? [`acked ${formatTime(i.ackedAt)}`] : []),
    ...(isMuted(i, now) ? [`muted until ${formatTime(i.mutedUntil!)}`] : []),
  ];
  return states.length ? states.join(", ") : i.status === "open" ? "unhandled" : "";
}

const durationText = (i: Incident, now: Date) => (i.status === "open" ? `open for ${lasted(i, now)}` : `lasted ${lasted(i, now)}`);

/** How long a mute lasts, as the mute form offers it. */
export const muteChoices = { "1h": 3_600_000, "4h": 4 * 3_600_000, "24h": 24 * 3_600_000, "7d": 7 * 24 * 3_600_000 } as const;

const Actions: FC<{ incident: Incident; now: Date }> = ({ incident, now }) => {
  const base = `/ui/incidents/${encodeURIComponent(incident.id)}`;
  return (
    <>
      {incident.ackedAt ? null : (
        <form class="inline" method="post" action={`${base}/ack`}>
          <button type="submit">Ack</button>
        </form>
      )}{" "}
      {isMuted(incident, now) ? (
        <form class="inline" method="post" action={`${base}/mute`}>
          <input type="hidden" name="for" value="off" />
          <button type="submit">Unmute</button>
        </form>
      ) : (
        <form class="inline" method="post" action={`${base}/mute`}>
          <select name="for" aria-label="mute for">
            {Object.keys(muteChoices).map((choice) => (
              <option value={choice}>{choice}</option>
            ))}
          </select>
          <button type="submit">Mute</button>
        </form>
      )}
    </>
  );
};

export const IncidentTable: FC<{ incidents: readonly Incident[]; now: Date; actions: boolean }> = ({ incidents, now, actions }) => (
  <table>
    <thead>
      <tr>
        <th>Kind</th>
        <th>Subject</th>
        <th>Opened</th>
        <th>How long</th>
        <th>Value</th>
        <th>What happened</th>
        <th>Chart</th>
        <th>State</th>
        {actions ? <th /> : null}
      </tr>
    </thead>
    <tbody>
      {incidents.map((i) => (
        <tr data-incident={i.id} data-status={i.status}>
          <td class={i.status === "open" ? "bad" : "ok"}>{i.kind}</td>
          <td>{i.subject}</td>
          <td>{formatTime(i.openedAt)}</td>
          <td>{durationText(i, now)}</td>
          <td>{valueText(i)}</td>
          <td>{i.status === "open" ? i.message : (i.resolution ?? i.message)}</td>
          <td>{i.monitorId ? <a href={chartPath(i.monitorId)}>chart</a> : null}</td>
          <td class="state">{stateText(i, now)}</td>
          {actions ? (
            <td>
              <Actions incident={i} now={now} />
            </td>
          ) : null}
        </tr>
      ))}
    </tbody>
  </table>
);

/** Beside a chart: each incident in a line, open ones first; "none" when there are none. */
export const IncidentItems: FC<{ incidents: readonly Incident[]; now: Date }> = ({ incidents, now }) =>
  incidents.length === 0 ? (
    <p class="muted">No incidents.</p>
  ) : (
    <ul>
      {incidents.map((i) => (
        <li data-incident={i.id} data-status={i.status}>
          <span class={i.status === "open" ? "bad" : "ok"}>{i.status === "open" ? "open" : "resolved"}</span> {i.kind}: {i.subject},{" "}
          {durationText(i, now)}
          {valueText(i) ? `, ${valueText(i)}` : ""}
          {stateText(i, now) ? <span class="muted"> ({stateText(i, now)})</span> : null}
        </li>
      ))}
    </ul>
  );
