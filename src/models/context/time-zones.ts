/**
 * Time zones for SQL that runs on D1, which has none: the UTC offsets of an IANA zone, read from
 * the Worker's `Intl` (which carries the IANA database), written into the SQL as a CASE over the
 * zone's transitions. In: a zone name and the SQL of an epoch (seconds). Out: SQL for the zone's
 * offset in seconds at that instant. Transitions are those from 1970 through 2049; an instant
 * outside that range takes the offset in force at its nearer end.
 */
import { TemplateError } from "../../jinja/index.ts";
import { isTimeZone, zoneOffset } from "../../lib/time-zone.ts";

const firstYear = 1970;
const endYear = 2050;
const week = 7 * 86_400_000;

interface Transition {
  /** The instant (epoch seconds) the offset starts, and the offset in seconds east of UTC. */
  at: number;
  offset: number;
}

/** The zone's offset, in seconds, at `ms`; an unknown zone is the template's mistake. */
function offsetAt(zone: string, ms: number): number {
  if (!isTimeZone(zone)) throw new TemplateError(`unknown time zone '${zone}': name an IANA zone, such as 'America/Los_Angeles' or 'UTC'`);
  return zoneOffset(zone, ms);
}

const cache = new Map<string, Transition[]>();

/** The zone's offsets from 1970 through 2049: sampled weekly, each change then found to the second. */
export function zoneTransitions(zone: string): Transition[] {
  const known = cache.get(zone);
  if (known) return known;
  const start = Date.UTC(firstYear, 0, 1);
  const transitions: Transition[] = [{ at: start / 1000, offset: offsetAt(zone, start) }];
  const end = Date.UTC(endYear, 0, 1);
  for (let ms = start; ms < end; ms += week) {
    const next = Math.min(ms + week, end);
    const before = transitions.at(-1)!.offset;
    if (offsetAt(zone, next) === before) continue;
    let [low, high] = [ms, next];
    while (high - low > 1000) {
      const mid = Math.floor((low + high) / 2000) * 1000;
      if (offsetAt(zone, mid) === before) low = mid;
      else high = mid;
    }
    transitions.push({ at: high / 1000, offset: offsetAt(zone, high) });
  }
  cache.set(zone, transitions);
  return transitions;
}

/** SQL for the zone's UTC offset in seconds at the UTC instant `epoch` (SQL giving epoch seconds). */
export function utcOffsetSql(zone: string, epoch: string): string {
  const transitions = zoneTransitions(zone);
  if (transitions.length === 1) return String(transitions[0]!.offset);
  // Latest first: recent data matches after few comparisons.
  const whens = transitions
    .slice(1)
    .reverse()
    .map((t) => `when ${epoch} >= ${t.at} then ${t.offset}`);
  return `(case ${whens.join(" ")} else ${transitions[0]!.offset} end)`;
}

/**
 * SQL for the zone's UTC offset at the wall-clock time `local` (epoch seconds of that wall time read as
 * UTC). A wall time that occurs twice (clocks set back) takes the earlier offset; one that never occurs
 * (clocks set forward) the offset before the change.
 */
export function localOffsetSql(zone: string, local: string): string {
  const transitions = zoneTransitions(zone);
  if (transitions.length === 1) return String(transitions[0]!.offset);
  const whens = transitions
    .slice(1)
    .map((t, i) => ({ at: t.at + Math.max(transitions[i]!.offset, t.offset), offset: t.offset }))
    .reverse()
    .map((t) => `when ${local} >= ${t.at} then ${t.offset}`);
  return `(case ${whens.join(" ")} else ${transitions[0]!.offset} end)`;
}
