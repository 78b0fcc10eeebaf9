/**
 * `GET /v1/quarantine` and `GET /v1/dead-letters` apply every filter they are given (source,
 * stream, status), together.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { adminToken } from "../support/fixtures.ts";
import { call, origin } from "../support/worker.ts";

const run = crypto.randomUUID().slice(0, 8);
const sources = [`la-${run}`, `lb-${run}`];
const streams = [`s1-${run}`, `s2-${run}`];

const get = (path: string) => call(new Request(`${origin}${path}`, { headers: { authorization: `Bearer ${adminToken}` } }));

type Filter = { source?: string; stream?: string; status?: string };

/** Every combination of the three filters, none to all, each naming the first source and stream. */
const combinations = (status: string): Filter[] => {
  const all: Filter = { source: sources[0]!, stream: streams[0]!, status };
  const names = Object.keys(all) as (keyof Filter)[];
  return Array.from({ length: 8 }, (_, mask) => Object.fromEntries(names.filter((_, i) => mask & (1 << i)).map((n) => [n, all[n]])));
};

/** One row per (source, stream, status): eight rows, so every filter and pair of filters tells them apart. */
const fixtures = (statuses: [string, string]) =>
  sources.flatMap((source) => streams.flatMap((stream) => statuses.map((status) => ({ source, stream, status }))));

const matches = (row: Filter, filter: Filter) => Object.entries(filter).every(([name, value]) => row[name as keyof Filter] === value);
const ours = (row: Filter) => sources.includes(row.source!);

/** Lists `path` with `filter` and checks it returns exactly the fixture rows the filter matches. */
async function expectFiltered(path: string, list: string, filter: Filter, rows: Filter[]) {
  const response = await get(`${path}?${new URLSearchParams({ ...filter, limit: "500" })}`);
  expect(response.status).toBe(200);
  const listed = ((await response.json()) as Record<string, Filter[]>)[list]!;
  for (const row of listed) expect(matches(row, filter)).toBe(true);
  const expected = rows.filter((row) => matches(row, filter));
  expect(
    listed
      .filter(ours)
      .map(({ source, stream, status }) => ({ source, stream, status }))
      .reverse(),
  ).toEqual(expected);
}

describe("GET /v1/quarantine filters", () => {
  const rows = fixtures(["open", "retried"]);

  beforeAll(async () => {
    // One open row per record is allowed, so each row gets its own key.
    await env.DB.batch(
      rows.map((row, i) =>
        env.DB.prepare(
          "INSERT INTO _sluice_quarantine (source, stream, key, load_id, reason, record, status, quarantined_at) VALUES (?1, ?2, ?3, 'ld_filters', 'test', '{}', ?4, ?5)",
        ).bind(row.source, row.stream, `k${i}`, row.status, new Date().toISOString()),
      ),
    );
  });

  it.each(combinations("retried"))("applies %j together", (filter) => expectFiltered("/v1/quarantine", "quarantine", filter, rows));

  it("refuses a status it does not know", async () => {
    const response = await get("/v1/quarantine?status=closed");
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("bad_request");
  });
});

describe("GET /v1/dead-letters filters", () => {
  const rows = fixtures(["open", "redriven"]);

  beforeAll(async () => {
    await env.DB.batch(
      rows.map((row, i) =>
        env.DB.prepare(
          "INSERT INTO _sluice_dead_letters (queue, message_id, kind, source, stream, key, attempts, reason, body, status) VALUES ('sluice-ingest', ?1, 'record', ?2, ?3, ?4, 10, 'test', '{}', ?5)",
        ).bind(`filters-${run}-${i}`, row.source, row.stream, `k${i}`, row.status),
      ),
    );
  });

  it.each(combinations("redriven"))("applies %j together", (filter) => expectFiltered("/v1/dead-letters", "dead_letters", filter, rows));

  it("refuses a status it does not know", async () => {
    const response = await get("/v1/dead-letters?status=closed");
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("bad_request");
  });
});
