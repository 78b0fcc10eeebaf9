/**
 * Per-minute metric rollups: counters add up per minute and label set, count only work that
 * happened (`ifChanged`), and fold into all-time rows after two days without changing a total.
 */
import { env } from "cloudflare:test";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { allTimeMinute, type Counter, counterInsert, foldOldMinutes, readCounters } from "../../src/ops/rollups.ts";

/** One counter addition as a D1 statement, so it can share a batch with plain statements. */
function addToCounter(
  db: D1Database,
  metric: Counter,
  labels: Record<string, string>,
  value: number,
  options: { at?: Date; ifChanged?: boolean } = {},
) {
  const query = counterInsert(drizzle(db), [{ metric, labels, value }], options).toSQL();
  return db.prepare(query.sql).bind(...query.params);
}

const total = async (labels: Record<string, string>) =>
  (await readCounters(env.DB)).get("sluice_pull_pages_total")?.find((row) => JSON.stringify(row.labels) === JSON.stringify(labels))
    ?.value ?? 0;

describe("metric rollups", () => {
  it("adds to a counter per minute and label set", async () => {
    const labels = { source: "rollup", stream: "adds" };
    const at = new Date("2040-02-01T10:15:30Z");
    await env.DB.batch([
      addToCounter(env.DB, "sluice_pull_pages_total", labels, 2, { at }),
      addToCounter(env.DB, "sluice_pull_pages_total", labels, 3, { at }),
    ]);
    await env.DB.batch([addToCounter(env.DB, "sluice_pull_pages_total", labels, 1, { at: new Date("2040-02-01T10:16:00Z") })]);
    const rows = await env.DB.prepare("SELECT minute, value FROM _sluice_metric_minutes WHERE labels = ?1 ORDER BY minute")
      .bind(JSON.stringify(labels))
      .all();
    expect(rows.results).toEqual([
      { minute: "2040-02-01T10:15", value: 5 },
      { minute: "2040-02-01T10:16", value: 1 },
    ]);
    expect(await total(labels)).toBe(6);
  });

  it("with ifChanged, counts only when the statement before it changed a row", async () => {
    const labels = { source: "rollup", stream: "guarded" };
    await env.DB.exec("CREATE TABLE IF NOT EXISTS rollup_probe (id INTEGER PRIMARY KEY)");
    const insert = env.DB.prepare("INSERT INTO rollup_probe (id) VALUES (1) ON CONFLICT DO NOTHING");
    const count = () => addToCounter(env.DB, "sluice_pull_pages_total", labels, 1, { ifChanged: true });
    await env.DB.batch([insert, count()]);
    await env.DB.batch([insert, count()]); // the row exists: nothing changed, nothing counted
    expect(await total(labels)).toBe(1);
  });

  it("folds minutes older than two days into all-time rows, keeping every total", async () => {
    const labels = { source: "rollup", stream: "folded" };
    const now = new Date("2040-03-10T12:00:00Z");
    await env.DB.batch([
      addToCounter(env.DB, "sluice_pull_pages_total", labels, 4, { at: new Date("2040-03-01T00:00:00Z") }),
      addToCounter(env.DB, "sluice_pull_pages_total", labels, 6, { at: new Date("2040-03-05T00:00:00Z") }),
      addToCounter(env.DB, "sluice_pull_pages_total", labels, 7, { at: new Date("2040-03-10T11:00:00Z") }),
    ]);
    await env.DB.batch(foldOldMinutes(env.DB, now));
    await env.DB.batch(foldOldMinutes(env.DB, now)); // folding twice changes nothing
    const rows = await env.DB.prepare("SELECT minute, value FROM _sluice_metric_minutes WHERE labels = ?1 ORDER BY minute")
      .bind(JSON.stringify(labels))
      .all();
    expect(rows.results).toEqual([
      { minute: allTimeMinute, value: 10 },
      { minute: "2040-03-10T11:00", value: 7 },
    ]);
    expect(await total(labels)).toBe(17);
  });
});
