/**
 * Judging an SLA as a pure function of the SLA, the last load or build, and now: durations read,
 * ages and allowances in seconds, messages exact, and ready_by's due points through DST.
 */
import { describe, expect, it } from "vitest";
import { formatDuration, freshWithinSeconds } from "../../src/quality/sla.ts";
import { judgeSla, readyPoints } from "../../src/quality/sla-judge.ts";

const at = (iso: string) => new Date(iso);
const points = (readyBy: string, now: string) => {
  const [time, zone] = readyBy.split(" ") as [string, string];
  const [hour, minute] = time.split(":").map(Number) as [number, number];
  const { due, since, day } = readyPoints({ hour, minute, zone }, Date.parse(now));
  return { due: new Date(due).toISOString(), since: new Date(since).toISOString(), day };
};

describe("durations", () => {
  it.each([
    ["30m", 1800],
    ["2h", 7200],
    ["1d", 86_400],
    ["1h30m", 5400],
    ["2 H", 7200],
    [{ count: 2, period: "hour" }, 7200],
    [{ count: 15, period: "minute" }, 900],
    ["soon", undefined],
    ["0m", undefined],
    ["1w", undefined],
    [7200, undefined],
    [{ count: 0, period: "day" }, undefined],
  ])("fresh_within %j is %j seconds", (value, seconds) => expect(freshWithinSeconds(value)).toBe(seconds));

  it.each([
    [45, "45s"],
    [720, "12m"],
    [3600, "1h"],
    [11_100, "3h 5m"],
    [183_600, "2d 3h"],
    [86_400 + 40 * 60, "1d"],
  ])("%i seconds read %s", (seconds, text) => expect(formatDuration(seconds)).toBe(text));
});

describe("fresh_within", () => {
  const source = (lastAt: string | null) => ({ what: "source stripe", owner: "source" as const, sla: { fresh_within: "2h" }, lastAt });

  it("is met while the newest record is at most that old", () => {
    expect(judgeSla(source("2026-01-15T11:48:00Z"), at("2026-01-15T12:00:00Z"))).toEqual({
      met: true,
      ageSeconds: 720,
      allowedSeconds: 7200,
      message: "source stripe is within its SLA: its newest record is 12m old (allowed: 2h)",
    });
    expect(judgeSla(source("2026-01-15T10:00:00Z"), at("2026-01-15T12:00:00Z")).met).toBe(true);
  });

  it("is breached past it, saying by how much", () => {
    expect(judgeSla(source("2026-01-15T08:55:00Z"), at("2026-01-15T12:00:00Z"))).toEqual({
      met: false,
      ageSeconds: 11_100,
      allowedSeconds: 7200,
      message: "source stripe is late by 1h 5m: its newest record is 3h 5m old, and its SLA allows 2h",
    });
  });

  it("is breached when nothing was ever loaded or built", () => {
    expect(judgeSla(source(null), at("2026-01-15T12:00:00Z"))).toEqual({
      met: false,
      ageSeconds: null,
      allowedSeconds: 7200,
      message: "source stripe is late: it has never loaded a record, and its SLA allows 2h",
    });
    const model = { what: "model orders", owner: "model" as const, sla: { fresh_within: { count: 30, period: "minute" as const } } };
    expect(judgeSla({ ...model, lastAt: null }, at("2026-01-15T12:00:00Z")).message).toBe(
      "model orders is late: it has never built successfully, and its SLA allows 30m",
    );
  });
});

describe("ready_by", () => {
  const model = (lastAt: string | null, readyBy = "06:00 Europe/Berlin") => ({
    what: "model orders",
    owner: "model" as const,
    sla: { ready_by: readyBy },
    lastAt,
  });

  it("is due each day at that local time, for a build since the day before's", () => {
    // 07:10 in Berlin (CET, UTC+1): today's 06:00 was 05:00 UTC.
    expect(points("06:00 Europe/Berlin", "2026-01-15T06:10:00Z")).toEqual({
      due: "2026-01-15T05:00:00.000Z",
      since: "2026-01-14T05:00:00.000Z",
      day: "2026-01-15",
    });
    // 05:00 in Berlin: today's 06:00 has not come; yesterday's is the one due.
    expect(points("06:00 Europe/Berlin", "2026-01-15T04:00:00Z")).toEqual({
      due: "2026-01-14T05:00:00.000Z",
      since: "2026-01-13T05:00:00.000Z",
      day: "2026-01-14",
    });
    // 07:30 in New York (EST, UTC-5) is 12:30 UTC; at 01:00 UTC it is still the day before there.
    expect(points("07:30 America/New_York", "2026-01-16T01:00:00Z")).toEqual({
      due: "2026-01-15T12:30:00.000Z",
      since: "2026-01-14T12:30:00.000Z",
      day: "2026-01-15",
    });
  });

  it("follows DST: a 23-hour day, a skipped time just past the gap, a repeated time at its first", () => {
    // Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 2026-03-29.
    expect(points("06:00 Europe/Berlin", "2026-03-29T12:00:00Z")).toEqual({
      due: "2026-03-29T04:00:00.000Z",
      since: "2026-03-28T05:00:00.000Z",
      day: "2026-03-29",
    });
    // 02:30 never happens that night: it is read with the offset before the change, 03:30 CEST.
    expect(points("02:30 Europe/Berlin", "2026-03-29T12:00:00Z").due).toBe("2026-03-29T01:30:00.000Z");
    // Back to UTC+1 at 01:00 UTC on 2026-10-25: 02:30 happens at 00:30 and at 01:30 UTC; the first counts.
    expect(points("02:30 Europe/Berlin", "2026-10-25T12:00:00Z")).toEqual({
      due: "2026-10-25T00:30:00.000Z",
      since: "2026-10-24T00:30:00.000Z",
      day: "2026-10-25",
    });
  });

  it("is breached after the due point without a build since the day before's, saying how late", () => {
    expect(judgeSla(model("2026-01-14T04:00:00Z"), at("2026-01-15T06:10:00Z"))).toEqual({
      met: false,
      ageSeconds: 94_200,
      allowedSeconds: 90_600,
      message:
        "model orders was not ready by 06:00 Europe/Berlin on 2026-01-15 and is 1h 10m late: " +
        "it last built successfully 1d 2h ago, before the 06:00 of the day before",
    });
    expect(judgeSla(model(null), at("2026-01-15T06:10:00Z")).message).toBe(
      "model orders was not ready by 06:00 Europe/Berlin on 2026-01-15 and is 1h 10m late: it has never built successfully",
    );
  });

  it("is met by a build since the day before's due point, and again by a late build", () => {
    expect(judgeSla(model("2026-01-14T05:30:00Z"), at("2026-01-15T06:10:00Z"))).toEqual({
      met: true,
      ageSeconds: 88_800,
      allowedSeconds: 90_600,
      message: "model orders was ready by 06:00 Europe/Berlin on 2026-01-15: it last built successfully 1d ago",
    });
    expect(judgeSla(model("2026-01-15T06:05:00Z"), at("2026-01-15T06:10:00Z")).met).toBe(true);
    // Before today's due point, yesterday's build still counts.
    expect(judgeSla(model("2026-01-14T04:00:00Z"), at("2026-01-15T04:00:00Z")).met).toBe(true);
  });

  it("with fresh_within too, reports the breached one", () => {
    const both = { ...model("2026-01-15T05:30:00Z"), sla: { fresh_within: "30m", ready_by: "06:00 Europe/Berlin" } };
    expect(judgeSla(both, at("2026-01-15T06:10:00Z"))).toEqual({
      met: false,
      ageSeconds: 2400,
      allowedSeconds: 1800,
      message: "model orders is late by 10m: it last built successfully 40m ago, and its SLA allows 30m",
    });
    expect(judgeSla(both, at("2026-01-15T05:50:00Z")).message).toBe(
      "model orders is within its SLA: it last built successfully 20m ago (allowed: 30m); " +
        "model orders was ready by 06:00 Europe/Berlin on 2026-01-15: it last built successfully 20m ago",
    );
  });
});
