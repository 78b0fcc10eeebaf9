/**
 * Table monitors: the null rate of every column of every declared stream's table, counted on the
 * cron tick from the rows loaded since the last one (by the load-order column), per hour of their
 * loads, and judged once the hour is complete. History is written straight into a raw table, one
 * load per hour; the last test loads through the real consumer.
 */
import { createExecutionContext, createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../src/config/index.ts";
import { rawTableName } from "../../src/lib/sql.ts";
import { settleMs } from "../../src/ops/monitors.ts";
import { judgeTableMonitors, tableMonitorId } from "../../src/ops/table-monitors.ts";
import { hourMs } from "../../src/quality/stats.ts";
import { consumeWith, labRecord, labRuntime, rows } from "../support/pipeline.ts";
import { createRawTable, rawLoad } from "../support/raw-rows.ts";
import { seeded } from "../support/seeded.ts";
import { handler } from "../support/worker.ts";

const start = Date.UTC(2041, 0, 7); // a Monday
const normalHours = 14 * 24;
const iso = (ms: number) => new Date(ms).toISOString();
const columns = ["email", "amount", "note"];

const createTable = (stream: string) => createRawTable("lab", stream, columns);
const loadStatement = (table: string, startedMs: number, values: (string | null)[][]) => rawLoad(table, columns, startedMs, values);
const load = (table: string, startedMs: number, values: (string | null)[][]) => loadStatement(table, startedMs, values).run();

/** `count` rows, the first `nulls` of them without an email; amount always set, note never. */
const rowsWith = (count: number, nulls: number) =>
  Array.from({ length: count }, (_, i) => [i < nulls ? null : `u${i}@example.com`, String(i), null]);

/** One load of 100 rows ten minutes into each hour from `firstHourMs`: 1 or 2 emails missing, or `jump(hour)`. */
async function hourly(
  table: string,
  hours: number,
  seed: number,
  firstHourMs = start,
  jump: (hour: number) => number | undefined = () => undefined,
) {
  const random = seeded(seed);
  const loads = Array.from({ length: hours }, (_, hour) => {
    const normal = 1 + Math.floor(random() * 2);
    return loadStatement(table, firstHourMs + hour * hourMs + 600_000, rowsWith(100, jump(hour) ?? normal));
  });
  await env.DB.batch(loads);
}

type Stored = { bucket_start: string; value: number; rows: number; expected_high: number | null; anomalous: number };
const stored = (monitor: string) =>
  rows<Stored>(
    "SELECT bucket_start, value, rows, expected_high, anomalous FROM _sluice_monitor_buckets WHERE monitor_id = ?1 ORDER BY bucket_start",
    monitor,
  );
const flagged = async (monitor: string) => (await stored(monitor)).filter((b) => b.anomalous === 1).map((b) => b.bucket_start);
const monitorIds = (table: string) =>
  rows<{ monitor_id: string }>(
    "SELECT DISTINCT monitor_id FROM _sluice_monitor_buckets WHERE monitor_id LIKE ?1 ORDER BY monitor_id",
    `table:${table}.%`,
  ).then((r) => r.map((row) => row.monitor_id));
const incidentsOf = (monitor: string) =>
  rows("SELECT kind, status, monitor_id, value, message FROM _sluice_incidents WHERE subject = ?1", monitor);
const tick = (hours: number, minutes = 10) => new Date(start + hours * hourMs + minutes * 60_000);

/** A runtime declaring only `stream` (and the lab source's default): each tick reads only its table. */
const runtimeOf = (stream: string) => labRuntime({ [stream]: {} });

describe("on the cron tick", () => {
  it("every tick counts the rows loaded into the declared streams' tables, whatever else its cron owns", async () => {
    const table = await createRawTable("slack", "reactions", ["reaction"]);
    await rawLoad(table, ["reaction"], start + 600_000, [["thumbsup"], [null], ["tada"], [null]]).run();
    const scheduledTime = start + 30 * 60_000;
    await handler.scheduled!(createScheduledController({ cron: getConfig().lake.schedule, scheduledTime }), env, createExecutionContext());
    expect(await rows("SELECT bucket_start, column_name, rows, nulls FROM _sluice_table_hours WHERE table_name = ?1", table)).toEqual([
      { bucket_start: iso(start), column_name: "reaction", rows: 4, nulls: 2 },
    ]);
  });
});

describe("null-rate monitors", () => {
  it("on first enable judges the whole history: a jump from 1% to 40% nulls is flagged, the normal weeks are not", async () => {
    const table = await createTable("nulls");
    await hourly(table, normalHours + 2, 1, start, (hour) => (hour === normalHours ? 40 : undefined));
    await judgeTableMonitors(runtimeOf("nulls"), tick(normalHours + 2), { maxRows: 1_000_000 });

    const email = tableMonitorId(table, "email");
    const judged = await stored(email);
    // Every complete hour but the first, which has nothing before it to be judged against.
    expect(judged).toHaveLength(normalHours + 1);
    expect(await flagged(email)).toEqual([iso(start + normalHours * hourMs)]);
    const jump = judged.find((b) => b.anomalous === 1)!;
    expect(jump).toMatchObject({ value: 0.4, rows: 100 });
    expect(jump.expected_high).toBeLessThan(0.1);
    expect(await flagged(tableMonitorId(table, "amount"))).toEqual([]);
    expect(await flagged(tableMonitorId(table, "note"))).toEqual([]);
    // Sluice's own columns (record key, load id, load order, …) have no monitor.
    expect(await monitorIds(table)).toEqual(["amount", "email", "note"].map((c) => tableMonitorId(table, c)));
  });

  it("hour by hour: a jump is flagged in the tick after its hour completes, never while the hour is filling", async () => {
    const table = await createTable("live");
    const runtime = runtimeOf("live");
    await hourly(table, normalHours, 2);
    await judgeTableMonitors(runtime, tick(normalHours), { maxRows: 1_000_000 });
    const email = tableMonitorId(table, "email");
    const jumpHour = start + normalHours * hourMs;
    await load(table, jumpHour + 600_000, rowsWith(100, 40));
    // The hour is still filling, then it has ended but a load that started in it may not have committed yet.
    await judgeTableMonitors(runtime, tick(normalHours, 30));
    await judgeTableMonitors(runtime, new Date(jumpHour + hourMs + settleMs - 60_000));
    expect((await stored(email)).at(-1)!.bucket_start).toBe(iso(jumpHour - hourMs));
    await judgeTableMonitors(runtime, new Date(jumpHour + hourMs + settleMs));
    expect(await flagged(email)).toEqual([iso(jumpHour)]);
    // Its newest bucket is anomalous: the monitor has an open anomaly incident.
    expect(await incidentsOf(email)).toEqual([
      {
        kind: "anomaly",
        status: "open",
        monitor_id: email,
        value: 0.4,
        message: expect.stringMatching(/^0\.4 in 2041-01-21 00:00–01:00 UTC, expected /),
      },
    ]);
  });

  it("is tuned by id like the stream monitors: a sensitivity or `incidents: false` per table or column", async () => {
    const tuned = await createTable("tuned");
    const quiet = await createTable("quiet");
    const runtime = labRuntime(
      { tuned: {}, quiet: {} },
      {},
      {
        monitors: {
          overrides: [
            { match: "table:raw_lab__tuned.*", sensitivity: 100 },
            { match: "table:raw_lab__quiet.email:null_rate", incidents: false },
          ],
        },
      },
    );
    const jump = (hour: number) => (hour === normalHours ? 40 : undefined);
    await hourly(tuned, normalHours + 1, 4, start, jump);
    await hourly(quiet, normalHours + 1, 4, start, jump);
    await judgeTableMonitors(runtime, tick(normalHours + 1), { maxRows: 1_000_000 });
    expect(await flagged(tableMonitorId(tuned, "email"))).toEqual([]);
    expect(await flagged(tableMonitorId(quiet, "email"))).toEqual([iso(start + normalHours * hourMs)]);
    expect(await incidentsOf(tableMonitorId(tuned, "email"))).toEqual([]);
    expect(await incidentsOf(tableMonitorId(quiet, "email"))).toEqual([]);
  });

  it("rows loaded over several ticks within one hour make one bucket, judged once the hour is complete", async () => {
    const table = await createTable("filling");
    const runtime = runtimeOf("filling");
    await load(table, start - hourMs + 600_000, rowsWith(100, 1)); // the hour before: the table's first
    await load(table, start + 5 * 60_000, rowsWith(100, 10));
    await judgeTableMonitors(runtime, tick(0, 10));
    await load(table, start + 25 * 60_000, rowsWith(50, 0));
    await judgeTableMonitors(runtime, tick(0, 30));
    await load(table, start + 45 * 60_000, rowsWith(50, 40));
    await judgeTableMonitors(runtime, tick(0, 50));
    const email = tableMonitorId(table, "email");
    expect(await stored(email)).toEqual([]);

    await judgeTableMonitors(runtime, new Date(start + hourMs + settleMs));
    expect(await stored(email)).toEqual([expect.objectContaining({ bucket_start: iso(start), value: 0.25, rows: 200, anomalous: 0 })]);
    expect(
      await rows(
        "SELECT column_name, rows, nulls FROM _sluice_table_hours WHERE table_name = ?1 AND bucket_start = ?2 ORDER BY 1",
        table,
        iso(start),
      ),
    ).toEqual([
      { column_name: "amount", rows: 200, nulls: 0 },
      { column_name: "email", rows: 200, nulls: 50 },
      { column_name: "note", rows: 200, nulls: 200 },
    ]);
    // Nothing new: a later tick stores nothing.
    expect(await judgeTableMonitors(runtime, new Date(start + hourMs + settleMs + 60_000))).toBe(0);
  });

  it("reads at most maxRows rows per table per tick, continues where it stopped, and stores what one read stores", async () => {
    const paced = await createTable("paced");
    const whole = await createTable("whole");
    const jump = (hour: number) => (hour === 9 * 24 ? 40 : undefined);
    await hourly(paced, 9 * 24 + 3, 3, start, jump);
    await hourly(whole, 9 * 24 + 3, 3, start, jump);
    const now = tick(9 * 24 + 3);
    await judgeTableMonitors(runtimeOf("whole"), now, { maxRows: 1_000_000 });
    const runtime = runtimeOf("paced");

    // 2,550 rows: 25 whole loads and half of the 26th, so the checkpoint stops inside a load.
    await judgeTableMonitors(runtime, now, { maxRows: 2_550 });
    const checkpoint = () =>
      rows<{ load_seq: number; row_id: number; judged_until: string }>(
        "SELECT load_seq, row_id, judged_until FROM _sluice_table_checkpoints WHERE table_name = ?1",
        paced,
      ).then((r) => r[0]!);
    const [seqs] = await rows<{ first: number; last: number }>(
      `SELECT min(_sluice_load_seq) AS first, max(_sluice_load_seq) AS last FROM "${paced}"`,
    );
    const [half] = await rows<{ row_id: number }>(
      `SELECT rowid AS row_id FROM "${paced}" WHERE _sluice_load_seq = ?1 ORDER BY rowid LIMIT 1 OFFSET 49`,
      seqs!.first + 25,
    );
    // Loads not read yet may have started up to the settle time before the last one read: their hours wait.
    expect(await checkpoint()).toEqual({ load_seq: seqs!.first + 25, row_id: half!.row_id, judged_until: iso(start + 25 * hourMs) });
    // 21,900 rows: eight more ticks read them all.
    for (let i = 0; i < 8; i++) await judgeTableMonitors(runtime, now, { maxRows: 2_550 });
    expect(await checkpoint()).toMatchObject({ load_seq: seqs!.last, judged_until: iso(start + (9 * 24 + 3) * hourMs) });

    const series = (table: string) =>
      rows(
        `SELECT substr(monitor_id, length(?1) + 1) AS monitor, bucket_start, value, rows, expected_low, expected_high, z, anomalous
         FROM _sluice_monitor_buckets WHERE monitor_id LIKE ?1 || '%' ORDER BY 1, 2`,
        `table:${table}.`,
      );
    const paid = await series(paced);
    expect(paid).toHaveLength(3 * (9 * 24 + 2));
    expect(paid).toEqual(await series(whole));
    expect(await flagged(tableMonitorId(paced, "email"))).toEqual([iso(start + 9 * 24 * hourMs)]);
  });

  it("two ticks running at once count each row once", async () => {
    const table = await createTable("racing");
    const runtime = runtimeOf("racing");
    await load(table, start + 600_000, rowsWith(100, 3));
    await load(table, start + 1_200_000, rowsWith(100, 5));
    await Promise.all([judgeTableMonitors(runtime, tick(0, 30)), judgeTableMonitors(runtime, tick(0, 30))]);
    await judgeTableMonitors(runtime, tick(0, 40));
    expect(await rows("SELECT rows, nulls FROM _sluice_table_hours WHERE table_name = ?1 AND column_name = 'email'", table)).toEqual([
      { rows: 200, nulls: 8 },
    ]);
  });
});

describe("records loaded through the consumer", () => {
  it("count in their load's hour; a column schema evolution adds starts its own monitor with the load that added it", async () => {
    const runtime = labRuntime({ evolving: {} });
    await consumeWith(runtime, [labRecord("ev-1", { id: 1, name: "a" }, "evolving"), labRecord("ev-2", { id: 2, name: null }, "evolving")]);
    await consumeWith(runtime, [
      labRecord("ev-3", { id: 3, name: "c", email: null }, "evolving"),
      labRecord("ev-4", { id: 4, name: "d", email: "d@example.com" }, "evolving"),
    ]);
    // Both loads are read after the email column exists: the first one's rows never had an email to miss.
    await judgeTableMonitors(runtime, new Date());

    const [first] = await rows<{ started_at: string }>("SELECT min(started_at) AS started_at FROM _sluice_loads WHERE stream = 'evolving'");
    const hour = iso(Math.floor(Date.parse(first!.started_at) / hourMs) * hourMs);
    // Summed over hours, in case the clock crossed one between the two loads.
    const counted = await rows(
      `SELECT column_name, min(bucket_start) AS first_hour, sum(rows) AS rows, sum(nulls) AS nulls FROM _sluice_table_hours
       WHERE table_name = ?1 GROUP BY column_name ORDER BY column_name`,
      rawTableName("lab", "evolving"),
    );
    expect(counted).toEqual([
      { column_name: "email", first_hour: expect.any(String), rows: 2, nulls: 1 },
      { column_name: "id", first_hour: hour, rows: 4, nulls: 0 },
      { column_name: "name", first_hour: hour, rows: 4, nulls: 1 },
    ]);
  });
});
