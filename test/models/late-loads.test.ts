/**
 * The example `fct_charges` takes new charge events by load order (`_sluice_load_seq`), so events
 * that load late with their original receive time (a quarantine retry, a redrive, a replay) reach
 * the next incremental run; and it keeps the newest `created_at` per charge, so a late, older
 * event never replaces a newer one.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createRuntime, type Runtime } from "../../src/env.ts";
import { retryQuarantined } from "../../src/load/quarantine.ts";
import { runModels } from "../../src/models/runner.ts";
import { consumeWith, rows } from "../support/pipeline.ts";
import { deliver, recordMessage } from "../support/queue.ts";
import { recordingQueue } from "../support/worker.ts";

const longAgo = "2020-01-01T00:00:00.000Z";
const created = (day: number, hour: number) => Date.UTC(2032, 0, day, hour) / 1000;

const charge = (event: string, id: string, status: string, createdAt: number, receivedAt?: string) =>
  recordMessage(
    event,
    {
      id: event,
      type: `charge.${status}`,
      created: createdAt,
      data: { object: { id, object: "charge", amount: 1200, currency: "usd", status, customer: "cus_l" } },
    },
    { source: "stripe", stream: "charges", ...(receivedAt ? { receivedAt } : {}) },
  );

const runFct = async () => {
  const summary = await runModels(createRuntime(env, "scheduled"), { trigger: "manual", select: ["+fct_charges"] });
  expect(summary.status).toBe("success");
};

const charges = () =>
  rows<{ charge_id: string; status: string; created_at: string }>(
    "SELECT charge_id, status, created_at FROM fct_charges ORDER BY charge_id",
  );

/** The example pipeline, with a charges schema that refuses amounts, as a broken deploy would. */
function brokenSchema(runtime: Runtime): Runtime {
  const stripe = runtime.config.sources.stripe!;
  const charges = {
    ...stripe.streams.charges!,
    schema: z.looseObject({ data: z.looseObject({ object: z.looseObject({ amount: z.string() }) }) }),
  };
  return {
    ...runtime,
    config: { ...runtime.config, sources: { ...runtime.config.sources, stripe: { ...stripe, streams: { ...stripe.streams, charges } } } },
  };
}

describe("fct_charges takes late loads", () => {
  it("over a raw table from before `_sluice_load_seq`: the run adds the column, and a full build keeps the old rows", async () => {
    await env.DB.prepare(
      `CREATE TABLE raw_stripe__charges ("_sluice_key" TEXT PRIMARY KEY NOT NULL, "_sluice_load_id" TEXT NOT NULL, "_sluice_received_at" TEXT NOT NULL,
        "_sluice_source_object" TEXT NOT NULL, "id" TEXT, "type" TEXT, "created" INTEGER, "data__object__id" TEXT, "data__object__amount" INTEGER,
        "data__object__currency" TEXT, "data__object__status" TEXT, "data__object__customer" TEXT)`,
    ).run();
    await env.DB.prepare(
      "INSERT INTO raw_stripe__charges VALUES ('evt_old', 'ld_old', '2031-12-31T00:00:00.000Z', 'raw/x', 'evt_old', 'charge.succeeded', ?1, 'ch_old', 500, 'usd', 'succeeded', 'cus_l')",
    )
      .bind(created(1, 8))
      .run();
    await runFct();
    expect(await rows("SELECT count(*) AS n FROM pragma_table_info('raw_stripe__charges') WHERE name = '_sluice_load_seq'")).toEqual([
      { n: 1 },
    ]);
    expect(await rows("SELECT name FROM sqlite_master WHERE name = 'raw_stripe__charges__seq_idx'")).toEqual([
      { name: "raw_stripe__charges__seq_idx" },
    ]);
    expect(await charges()).toEqual([{ charge_id: "ch_old", status: "succeeded", created_at: "2032-01-01T08:00:00.000Z" }]);
  });

  it("a late `pending` after `succeeded` does not replace it; a newer event does", async () => {
    await deliver([charge("evt_l1", "ch_l1", "succeeded", created(2, 11))]);
    await runFct();
    // Loaded after the run, with a receive time older than everything in the model.
    await deliver([charge("evt_l0", "ch_l1", "pending", created(2, 10), longAgo)]);
    await runFct();
    expect(await charges()).toContainEqual({ charge_id: "ch_l1", status: "succeeded", created_at: "2032-01-02T11:00:00.000Z" });

    await deliver([charge("evt_l2", "ch_l1", "refunded", created(2, 12), longAgo)]);
    await runFct();
    expect(await charges()).toContainEqual({ charge_id: "ch_l1", status: "refunded", created_at: "2032-01-02T12:00:00.000Z" });
  });

  it("a quarantine retry of an old event after an incremental run is picked up by the next run", async () => {
    const runtime = createRuntime(env, "queue");
    await consumeWith(brokenSchema(runtime), [charge("evt_q1", "ch_q1", "succeeded", created(3, 9), longAgo)]);
    expect(await rows("SELECT key FROM _sluice_quarantine WHERE status = 'open' AND key = 'evt_q1'")).toEqual([{ key: "evt_q1" }]);
    await deliver([charge("evt_q2", "ch_q2", "succeeded", created(3, 10))]);
    await runFct();
    expect((await charges()).map((c) => c.charge_id)).toContain("ch_q2");
    expect((await charges()).map((c) => c.charge_id)).not.toContain("ch_q1");

    // The schema is fixed and the quarantine retried: the record keeps its original receive time.
    const ingest = recordingQueue(env.INGEST);
    expect(
      await retryQuarantined(
        { ...runtime, env: { ...runtime.env, INGEST: ingest.queue } },
        { source: "stripe", stream: "charges", limit: 10 },
      ),
    ).toMatchObject({ retried: 1, fallbacks: [] });
    await deliver(ingest.sent.map((sent, i) => ({ id: `retry-${i}`, timestamp: new Date(), attempts: 1, body: sent.body })));
    expect(await rows("SELECT _sluice_received_at FROM raw_stripe__charges WHERE _sluice_key = 'evt_q1'")).toEqual([
      { _sluice_received_at: longAgo },
    ]);

    await runFct();
    expect(await charges()).toContainEqual({ charge_id: "ch_q1", status: "succeeded", created_at: "2032-01-03T09:00:00.000Z" });
  });

  it("one time format in a column: events without `created` fall back to the receive time, in the same format", async () => {
    await deliver([
      recordMessage(
        "evt_f1",
        { id: "evt_f1", data: { object: { id: "ch_f1", status: "succeeded", amount: 1 } } },
        { source: "stripe", stream: "charges", receivedAt: "2032-01-05T08:00:00.000Z" },
      ),
      charge("evt_f2", "ch_f2", "succeeded", created(5, 9)),
    ]);
    const formats = await rows<{ created_at: string }>(
      "SELECT created_at FROM stg_stripe__charges WHERE charge_id IN ('ch_f1', 'ch_f2') ORDER BY created_at",
    );
    expect(formats.map((r) => r.created_at)).toEqual(["2032-01-05T08:00:00.000Z", "2032-01-05T09:00:00.000Z"]);
  });
});
