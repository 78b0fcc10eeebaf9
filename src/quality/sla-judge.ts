/**
 * Judging an SLA, as a pure function of what it watches and the time. In: the SLA, when its subject
 * last loaded a record (a source) or last built successfully (a model), and now. Out: met or not,
 * the age the subject has and the age its SLA allows (both in seconds), and a message saying what is
 * late and by how much.
 *
 * `fresh_within`: met while the age is at most the duration. `ready_by "06:00 Europe/Berlin"`: each
 * day at 06:00 Berlin time (the due point) the model must have built since the day before's 06:00;
 * a build after that, late or not, meets it until the next due point. Days and DST come from the zone
 * (lib/time-zone.ts): a 06:00 that occurs twice is the first, one skipped is just past the gap.
 */
import { wallTimeToUtc, zoneOffset } from "../lib/time-zone.ts";
import { formatDuration, freshWithinSeconds, type ReadyBy, readyByParts, type Sla, type SlaOwner } from "./sla.ts";

export interface SlaSubject {
  /** How messages name it: `source stripe`, `source table stripe.charges`, `model orders`. */
  what: string;
  owner: SlaOwner;
  sla: Sla;
  /** The newest loaded record (a source) or the last successful build (a model); null if none. */
  lastAt: string | null;
}

export interface SlaVerdict {
  met: boolean;
  /** Seconds since `lastAt`; null when there is none. */
  ageSeconds: number | null;
  /** The oldest `lastAt` the SLA allows now, as an age in seconds. */
  allowedSeconds: number;
  message: string;
}

const dayMs = 86_400_000;

/** The latest due point at or before `nowMs` and the one the day before, as epoch milliseconds. */
export function readyPoints(readyBy: ReadyBy, nowMs: number): { due: number; since: number; day: string } {
  const localNow = nowMs + zoneOffset(readyBy.zone, nowMs) * 1000;
  const time = (readyBy.hour * 60 + readyBy.minute) * 60_000;
  let day = Math.floor(localNow / dayMs) * dayMs;
  if (wallTimeToUtc(readyBy.zone, day + time) > nowMs) day -= dayMs;
  return {
    due: wallTimeToUtc(readyBy.zone, day + time),
    since: wallTimeToUtc(readyBy.zone, day - dayMs + time),
    day: new Date(day).toISOString().slice(0, 10),
  };
}

export function judgeSla(subject: SlaSubject, now: Date): SlaVerdict {
  const nowMs = now.getTime();
  const lastMs = subject.lastAt === null ? null : Date.parse(subject.lastAt);
  const age = lastMs === null ? null : Math.max(0, Math.round((nowMs - lastMs) / 1000));
  const last =
    age === null
      ? subject.owner === "model"
        ? "it has never built successfully"
        : "it has never loaded a record"
      : subject.owner === "model"
        ? `it last built successfully ${formatDuration(age)} ago`
        : `its newest record is ${formatDuration(age)} old`;
  const verdicts: SlaVerdict[] = [];
  const within = subject.sla.fresh_within === undefined ? undefined : freshWithinSeconds(subject.sla.fresh_within);
  if (within !== undefined) {
    const met = age !== null && age <= within;
    const late = age === null ? "" : ` by ${formatDuration(age - within)}`;
    verdicts.push({
      met,
      ageSeconds: age,
      allowedSeconds: within,
      message: met
        ? `${subject.what} is within its SLA: ${last} (allowed: ${formatDuration(within)})`
        : `${subject.what} is late${late}: ${last}, and its SLA allows ${formatDuration(within)}`,
    });
  }
  const readyBy = subject.sla.ready_by === undefined ? undefined : readyByParts(subject.sla.ready_by);
  if (readyBy !== undefined) {
    const { due, since, day } = readyPoints(readyBy, nowMs);
    const met = lastMs !== null && lastMs >= since;
    const time = subject.sla.ready_by!.trim().split(/\s+/)[0];
    verdicts.push({
      met,
      ageSeconds: age,
      allowedSeconds: Math.round((nowMs - since) / 1000),
      message: met
        ? `${subject.what} was ready by ${subject.sla.ready_by} on ${day}: ${last}`
        : `${subject.what} was not ready by ${subject.sla.ready_by} on ${day} and is ${formatDuration((nowMs - due) / 1000)} late: ` +
          `${last}${age === null ? "" : `, before the ${time} of the day before`}`,
    });
  }
  const breached = verdicts.filter((v) => !v.met);
  if (verdicts.length === 0) return { met: true, ageSeconds: age, allowedSeconds: 0, message: `${subject.what} has no SLA` };
  if (breached.length === 0) return { ...verdicts[0]!, message: verdicts.map((v) => v.message).join("; ") };
  return { ...breached[0]!, message: breached.map((v) => v.message).join("; ") };
}
