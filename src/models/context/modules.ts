/**
 * dbt's `modules`: the Python modules its Jinja exposes, as far as dbt packages use them.
 * `modules.datetime` has `datetime` (now, utcnow, strptime-free construction), `date` and
 * `timedelta`, rendering as Python renders them; `modules.re` covers search, match, sub and
 * findall with Python's common syntax.
 */
import { pyfunc } from "../../jinja/index.ts";

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

class PyTimedelta {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
  get days(): number {
    return Math.floor(this.ms / 86_400_000);
  }
  get seconds(): number {
    return Math.floor((this.ms % 86_400_000) / 1000);
  }
  total_seconds(): number {
    return this.ms / 1000;
  }
}

const strftime = (d: Date, format: string): string =>
  format.replace(/%([YmdHMSfjyBbAaIp%])/g, (_, code: string) => {
    switch (code) {
      case "Y":
        return String(d.getUTCFullYear());
      case "y":
        return pad(d.getUTCFullYear() % 100);
      case "m":
        return pad(d.getUTCMonth() + 1);
      case "d":
        return pad(d.getUTCDate());
      case "H":
        return pad(d.getUTCHours());
      case "I":
        return pad(((d.getUTCHours() + 11) % 12) + 1);
      case "p":
        return d.getUTCHours() < 12 ? "AM" : "PM";
      case "M":
        return pad(d.getUTCMinutes());
      case "S":
        return pad(d.getUTCSeconds());
      case "f":
        return pad(d.getUTCMilliseconds() * 1000, 6);
      case "j":
        return pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3);
      case "B":
        return d.toLocaleString("en-US", { month: "long", timeZone: "UTC" });
      case "b":
        return d.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
      case "A":
        return d.toLocaleString("en-US", { weekday: "long", timeZone: "UTC" });
      case "a":
        return d.toLocaleString("en-US", { weekday: "short", timeZone: "UTC" });
      default:
        return "%";
    }
  });

class PyDatetime {
  readonly #date: Date;
  readonly #dateOnly: boolean;
  constructor(date: Date, dateOnly = false) {
    this.#date = date;
    this.#dateOnly = dateOnly;
  }
  get year(): number {
    return this.#date.getUTCFullYear();
  }
  get month(): number {
    return this.#date.getUTCMonth() + 1;
  }
  get day(): number {
    return this.#date.getUTCDate();
  }
  get hour(): number {
    return this.#date.getUTCHours();
  }
  get minute(): number {
    return this.#date.getUTCMinutes();
  }
  get second(): number {
    return this.#date.getUTCSeconds();
  }
  get microsecond(): number {
    return this.#date.getUTCMilliseconds() * 1000;
  }
  strftime(format: string): string {
    return strftime(this.#date, format);
  }
  isoformat(): string {
    return this.#dateOnly ? strftime(this.#date, "%Y-%m-%d") : strftime(this.#date, "%Y-%m-%dT%H:%M:%S.%f");
  }
  date(): PyDatetime {
    return new PyDatetime(new Date(Date.UTC(this.year, this.month - 1, this.day)), true);
  }
  weekday(): number {
    return (this.#date.getUTCDay() + 6) % 7;
  }
  isoweekday(): number {
    return this.weekday() + 1;
  }
  timestamp(): number {
    return this.#date.getTime() / 1000;
  }
  replace(...args: unknown[]): PyDatetime {
    const kwargs = (args.at(-1) as { values?: Record<string, number> } | undefined)?.values ?? {};
    const d = new Date(this.#date);
    if (kwargs.year !== undefined) d.setUTCFullYear(kwargs.year);
    if (kwargs.month !== undefined) d.setUTCMonth(kwargs.month - 1);
    if (kwargs.day !== undefined) d.setUTCDate(kwargs.day);
    if (kwargs.hour !== undefined) d.setUTCHours(kwargs.hour);
    if (kwargs.minute !== undefined) d.setUTCMinutes(kwargs.minute);
    if (kwargs.second !== undefined) d.setUTCSeconds(kwargs.second);
    if (kwargs.microsecond !== undefined) d.setUTCMilliseconds(Math.floor(kwargs.microsecond / 1000));
    return new PyDatetime(d, this.#dateOnly);
  }
  __add__(other: unknown): PyDatetime {
    return other instanceof PyTimedelta ? new PyDatetime(new Date(this.#date.getTime() + other.ms), this.#dateOnly) : this;
  }
  __sub__(other: unknown): PyDatetime | PyTimedelta {
    if (other instanceof PyTimedelta) return new PyDatetime(new Date(this.#date.getTime() - other.ms), this.#dateOnly);
    if (other instanceof PyDatetime) return new PyTimedelta(this.#date.getTime() - other.#date.getTime());
    return this;
  }
  __str__(): string {
    if (this.#dateOnly) return strftime(this.#date, "%Y-%m-%d");
    return strftime(this.#date, this.#date.getUTCMilliseconds() ? "%Y-%m-%d %H:%M:%S.%f" : "%Y-%m-%d %H:%M:%S");
  }
}

const construct = (dateOnly: boolean) =>
  pyfunc(["year", "month", "day", "hour?", "minute?", "second?", "microsecond?"], (a) => {
    const n = (v: unknown) => Number(v ?? 0);
    return new PyDatetime(
      new Date(Date.UTC(n(a.year), n(a.month) - 1, n(a.day), n(a.hour), n(a.minute), n(a.second), Math.floor(n(a.microsecond) / 1000))),
      dateOnly,
    );
  });

const datetimeClass = Object.assign(construct(false) as object, {
  now: () => new PyDatetime(new Date()),
  utcnow: () => new PyDatetime(new Date()),
  fromisoformat: (text: unknown) =>
    new PyDatetime(new Date(`${String(text).replace(" ", "T")}${/[zZ]|[+-]\d\d:?\d\d$/.test(String(text)) ? "" : "Z"}`)),
});

const dateClass = Object.assign(construct(true) as object, {
  today: () => new PyDatetime(new Date(), false).date(),
  fromisoformat: (text: unknown) => new PyDatetime(new Date(`${String(text)}T00:00:00Z`), true),
});

const timedelta = pyfunc(["days?", "seconds?", "microseconds?", "milliseconds?", "minutes?", "hours?", "weeks?"], (a) => {
  const n = (v: unknown) => Number(v ?? 0);
  return new PyTimedelta(
    n(a.days) * 86_400_000 +
      n(a.seconds) * 1000 +
      n(a.microseconds) / 1000 +
      n(a.milliseconds) +
      n(a.minutes) * 60_000 +
      n(a.hours) * 3_600_000 +
      n(a.weeks) * 604_800_000,
  );
});

const pattern = (source: unknown, flags = "") => new RegExp(String(source).replace(/\(\?P</g, "(?<"), flags);

export const modules = {
  datetime: { datetime: datetimeClass as typeof datetimeClass & { utcnow(): PyDatetime }, date: dateClass, timedelta },
  re: {
    search: (p: unknown, s: unknown) => pattern(p).exec(String(s)),
    match: (p: unknown, s: unknown) => {
      const m = pattern(p).exec(String(s));
      return m && m.index === 0 ? m : null;
    },
    sub: (p: unknown, replacement: unknown, s: unknown) =>
      String(s).replace(pattern(p, "g"), String(replacement).replace(/\\(\d)/g, "$$$1")),
    findall: (p: unknown, s: unknown) => [...String(s).matchAll(pattern(p, "g"))].map((m) => (m.length > 2 ? m.slice(1) : (m[1] ?? m[0]))),
    split: (p: unknown, s: unknown) => String(s).split(pattern(p)),
    compile: (p: unknown) => pattern(p),
    IGNORECASE: 2,
    I: 2,
  },
};
