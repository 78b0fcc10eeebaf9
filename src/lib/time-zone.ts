/**
 * IANA time zones from the runtime's `Intl` (Node and workerd both carry the IANA database), for
 * what D1 cannot do: a zone's UTC offset at an instant, and the instant a zone's wall-clock time
 * names. In: a zone name and epoch milliseconds. Out: offsets in seconds east of UTC, instants in
 * epoch milliseconds.
 */

const formats = new Map<string, Intl.DateTimeFormat>();

function format(zone: string): Intl.DateTimeFormat | undefined {
  let found = formats.get(zone);
  if (!found) {
    try {
      found = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      return undefined;
    }
    formats.set(zone, found);
  }
  return found;
}

/** Whether `zone` names an IANA time zone (`UTC`, `Europe/Berlin`, …). */
export function isTimeZone(zone: string): boolean {
  return format(zone) !== undefined;
}

/** The zone's offset from UTC, in seconds, at the instant `ms` (whole seconds; zones moved by minutes). */
export function zoneOffset(zone: string, ms: number): number {
  const known = format(zone);
  if (!known) throw new RangeError(`unknown time zone '${zone}'`);
  const parts = Object.fromEntries(known.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const wall = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 1000);
}

/** Offsets run from UTC-12 to UTC+14: every instant a wall time can name lies within this of it. */
const widestOffsetMs = 14 * 3_600_000;

/**
 * The instant at which the zone's clocks show `localMs` (that wall time written as if it were UTC).
 * A wall time that occurs twice (clocks set back) is its earlier instant; one that never occurs
 * (clocks set forward) is read with the offset before the change, so it lands just past the gap.
 */
export function wallTimeToUtc(zone: string, localMs: number): number {
  const before = zoneOffset(zone, localMs - widestOffsetMs);
  const after = zoneOffset(zone, localMs + widestOffsetMs);
  const instants = [...new Set([before, after])]
    .map((offset) => localMs - offset * 1000)
    .filter((ms) => localMs - zoneOffset(zone, ms) * 1000 === ms)
    .sort((a, b) => a - b);
  return instants[0] ?? localMs - before * 1000;
}
