import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { gunzip } from "../../src/load/raw-zone.ts";
import { deliver, recordMessage } from "../support/queue.ts";

interface RawRow {
  _sluice_key: string;
  _sluice_load_id: string;
  _sluice_received_at: string;
  _sluice_source_object: string;
  [column: string]: unknown;
}

const rowsFor = async (keys: string[], table = "raw_generic__events") =>
  (
    await env.DB.prepare(`SELECT * FROM "${table}" WHERE _sluice_key IN (SELECT value FROM json_each(?1)) ORDER BY _sluice_key`)
      .bind(JSON.stringify(keys))
      .all<RawRow>()
  ).results;

const ledgerFor = async (loadId: string) =>
  env.DB.prepare("SELECT * FROM _sluice_loads WHERE load_id = ?1").bind(loadId).first<Record<string, unknown>>();

describe("INGEST consumer: happy", () => {
  it("archives the batch to R2, loads unique rows into D1, writes the ledger, then acks", async () => {
    const messages = [
      recordMessage("load-a", { type: "a", n: 1 }),
      recordMessage("load-b", { type: "b", n: 2 }),
      recordMessage("load-a", { type: "a", n: 1 }),
    ];
    const result = await deliver(messages);

    expect(result.explicitAcks.sort()).toEqual(messages.map((m) => m.id).sort());
    expect(result.retryMessages).toEqual([]);

    const rows = await rowsFor(["load-a", "load-b"]);
    expect(rows.map((r) => [r._sluice_key, r.type, r.n])).toEqual([
      ["load-a", "a", 1],
      ["load-b", "b", 2],
    ]);
    const loadId = rows[0]!._sluice_load_id;
    expect(loadId).toMatch(/^ld_[0-9a-z]{26}$/);
    const r2Key = rows[0]!._sluice_source_object;
    expect(r2Key).toMatch(new RegExp(`^raw/generic/events/dt=\\d{4}-\\d{2}-\\d{2}/hr=\\d{2}/${loadId}\\.ndjson\\.gz$`));

    expect(await ledgerFor(loadId)).toMatchObject({
      source: "generic",
      stream: "events",
      status: "loaded",
      records: 3,
      inserted: 2,
      duplicates: 1,
      quarantined: 0,
      r2_key: r2Key,
    });

    const object = await env.RAW.get(r2Key);
    expect(object!.httpMetadata?.contentEncoding).toBe("gzip");
    expect(object!.customMetadata).toMatchObject({ loadId, source: "generic", stream: "events", records: "3" });
    expect(object!.customMetadata!.schemaHash).toMatch(/^[0-9a-f]{16}$/);
    expect(object!.customMetadata!.receivedFrom! <= object!.customMetadata!.receivedTo!).toBe(true);
    const lines = (await gunzip(await object!.arrayBuffer()))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ key: "load-a", source: "generic", stream: "events", payload: { type: "a", n: 1 } });
    expect(lines[0].deliveryId).toMatch(/^req_test_/);
  });

  it("loads a redelivered record once: the second load inserts nothing and counts a duplicate", async () => {
    await deliver([recordMessage("redeliver-1", { v: 1 })]);
    const [first] = await rowsFor(["redeliver-1"]);

    const again = await deliver([recordMessage("redeliver-1", { v: 1 })]);
    expect(again.explicitAcks).toHaveLength(1);
    const rows = await rowsFor(["redeliver-1"]);
    expect(rows).toEqual([first]);

    const latest = await env.DB.prepare("SELECT * FROM _sluice_loads WHERE load_id != ?1 AND records = 1 ORDER BY started_at DESC LIMIT 1")
      .bind(first!._sluice_load_id)
      .first<Record<string, unknown>>();
    expect(latest).toMatchObject({ inserted: 0, duplicates: 1 });
  });

  it("loads each stream of a mixed batch into its own table, object and ledger row", async () => {
    const messages = [recordMessage("mixed-1", { a: 1 }), recordMessage("mixed-2", { b: 2 }, { stream: "audit" })];
    const result = await deliver(messages);
    expect(result.explicitAcks).toHaveLength(2);

    const [events] = await rowsFor(["mixed-1"]);
    const [audit] = await rowsFor(["mixed-2"], "raw_generic__audit");
    expect(events!._sluice_load_id).not.toBe(audit!._sluice_load_id);
    expect(audit!._sluice_source_object).toContain("raw/generic/audit/");
    expect(await ledgerFor(audit!._sluice_load_id)).toMatchObject({ stream: "audit", records: 1, inserted: 1 });
  });

  it("reads a claim-checked payload back from R2", async () => {
    const payload = { type: "big", blob: "y".repeat(120_000) };
    await env.RAW.put("claims/generic/events/dt=2026-01-01/req_claim.json", JSON.stringify(payload));
    const message = recordMessage("claim-1", undefined, { r2Key: "claims/generic/events/dt=2026-01-01/req_claim.json" });
    delete (message.body as { payload?: unknown }).payload;

    const result = await deliver([message]);
    expect(result.explicitAcks).toEqual([message.id]);
    const [row] = await rowsFor(["claim-1"]);
    expect([row!.type, row!.blob]).toEqual([payload.type, payload.blob]);
  });

  it("loads a record too large for a D1 row, with its oversized value replaced by a pointer into the raw zone", async () => {
    const payload = { type: "huge", blob: "h".repeat(2_500_000), small: 7 };
    await env.RAW.put("claims/generic/events/dt=2026-01-01/req_huge.json", JSON.stringify(payload));
    const neighbour = recordMessage("huge-neighbour", { type: "ok" });
    const huge = recordMessage("huge-1", undefined, { r2Key: "claims/generic/events/dt=2026-01-01/req_huge.json" });
    delete (huge.body as { payload?: unknown }).payload;

    const result = await deliver([neighbour, huge]);
    expect(result.explicitAcks.sort()).toEqual([huge.id, neighbour.id].sort());
    const [row] = await rowsFor(["huge-1"]);
    expect(row).toMatchObject({ type: "huge", small: 7 });
    expect(JSON.parse(String(row!.blob))).toEqual({ $ref: `${row!._sluice_source_object}#2` });
    expect(await ledgerFor(row!._sluice_load_id)).toMatchObject({ records: 2, inserted: 2, quarantined: 0 });

    const object = await env.RAW.get(row!._sluice_source_object);
    const lines = (await gunzip(await object!.arrayBuffer()))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[1].key).toBe("huge-1");
    expect(lines[1].payload).toEqual(payload);
  });

  it("loads 100 records of 10 KB each in one batch (several json_each chunks stay under D1 limits)", async () => {
    const messages = Array.from({ length: 100 }, (_, i) => recordMessage(`bulk-${i}`, { i, pad: "z".repeat(10_000) }));
    const result = await deliver(messages);
    expect(result.explicitAcks).toHaveLength(100);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM raw_generic__events WHERE _sluice_key LIKE 'bulk-%'").first("n");
    expect(count).toBe(100);
  });
});

describe("INGEST consumer: failures never ack", () => {
  it("retries every message with backoff when D1 fails, and writes no ledger row", async () => {
    const failingDb = {
      prepare: env.DB.prepare.bind(env.DB),
      batch: async () => Promise.reject(new Error("D1_ERROR: database is locked")),
    } as unknown as D1Database;
    const messages = [recordMessage("d1-down-1", { x: 1 }, {}, 1), recordMessage("d1-down-2", { x: 2 }, {}, 3)];
    const result = await deliver(messages, { env: { DB: failingDb } });

    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual(messages.map((m) => m.id));
    expect(await rowsFor(["d1-down-1", "d1-down-2"])).toEqual([]);
  });

  it("retries when R2 refuses the raw object, and loads nothing into D1", async () => {
    const failingBucket = {
      put: async () => Promise.reject(new Error("R2 unavailable")),
      get: env.RAW.get.bind(env.RAW),
    } as unknown as R2Bucket;
    const message = recordMessage("r2-down-1", { x: 1 });
    const result = await deliver([message], { env: { RAW: failingBucket } });

    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual([message.id]);
    expect(await rowsFor(["r2-down-1"])).toEqual([]);
  });

  it("retries a claim-checked record whose R2 object is missing", async () => {
    const message = recordMessage("claim-missing", undefined, { r2Key: "claims/generic/events/dt=2026-01-01/gone.json" });
    delete (message.body as { payload?: unknown }).payload;
    const result = await deliver([message]);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual([message.id]);
  });

  it("fails only the stream that failed: the other stream of the batch is loaded and acked", async () => {
    const good = recordMessage("isolated-good", { ok: true });
    const bad = recordMessage("isolated-bad", { ok: false }, { r2Key: "claims/generic/other/missing.json", stream: "other" });
    delete (bad.body as { payload?: unknown }).payload;
    const result = await deliver([good, bad]);
    expect(result.explicitAcks).toEqual([good.id]);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual([bad.id]);
    expect(await rowsFor(["isolated-good"])).toHaveLength(1);
  });

  it("records a message that is not a record envelope as a dead letter, then acks it", async () => {
    const junk = { id: "junk-1", timestamp: new Date(), attempts: 1, body: { hello: "there" } };
    const result = await deliver([junk]);
    expect(result.explicitAcks).toEqual(["junk-1"]);
    const row = await env.DB.prepare("SELECT * FROM _sluice_dead_letters WHERE message_id = 'junk-1'").first<Record<string, unknown>>();
    expect(row).toMatchObject({ queue: "sluice-ingest", attempts: 1, body: '{"hello":"there"}' });
    expect(String(row!.reason)).toMatch(/^not a valid message: /);
  });
});

describe("INGEST consumer: messages as text", () => {
  it("loads the good records of a batch and dead-letters a message whose text is not JSON, with its text", async () => {
    const good = [recordMessage("text-good-1", { text_n: 1 }), recordMessage("text-good-2", { text_n: 2 })];
    const poison = { id: "text-poison-1", timestamp: new Date(), attempts: 1, body: '{"v":1,"kind":"record","payload":{' };
    const result = await deliver([good[0]!, poison, good[1]!]);

    expect(result.explicitAcks.sort()).toEqual([good[0]!.id, good[1]!.id, poison.id].sort());
    expect(result.retryMessages).toEqual([]);
    expect((await rowsFor(["text-good-1", "text-good-2"])).map((r) => [r._sluice_key, r.text_n])).toEqual([
      ["text-good-1", 1],
      ["text-good-2", 2],
    ]);
    const row = await env.DB.prepare("SELECT * FROM _sluice_dead_letters WHERE message_id = ?1")
      .bind(poison.id)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({ queue: "sluice-ingest", kind: null, source: null, attempts: 1, status: "open", body: poison.body });
    expect(String(row!.reason)).toMatch(/^not valid JSON: /);
  });

  it("still loads a record sent as a json object before the upgrade to text", async () => {
    const message = recordMessage("json-in-flight", { json_n: 7 });
    const result = await deliver([message], { contentType: "json" });
    expect(result.explicitAcks).toEqual([message.id]);
    expect((await rowsFor(["json-in-flight"])).map((r) => r.json_n)).toEqual([7]);
  });

  it("routes page tasks and model-run continuations sent as text to their stages", async () => {
    // A continuation of a run that is not running is acked with nothing to do; a page task of an
    // unknown run likewise. Neither is mistaken for a record and dead-lettered.
    const run = {
      id: "text-model-run",
      timestamp: new Date(),
      attempts: 1,
      body: JSON.stringify({ v: 1, kind: "model_run", runId: "run_not_running" }),
    };
    const page = {
      id: "text-page",
      timestamp: new Date(),
      attempts: 1,
      body: JSON.stringify({
        v: 1,
        kind: "page",
        source: "github_api",
        stream: "issues",
        runId: "pr_missing",
        page: 1,
        url: "https://api.example/x",
      }),
    };
    const result = await deliver([run, page]);
    expect(result.explicitAcks.sort()).toEqual([page.id, run.id].sort());
    const dead = await env.DB.prepare(
      "SELECT count(*) AS n FROM _sluice_dead_letters WHERE message_id IN ('text-model-run', 'text-page')",
    ).first("n");
    expect(dead).toBe(0);
  });
});

describe("dead-letter queue consumer", () => {
  it("records each exhausted message with its source, stream, key and attempts, then acks the batch", async () => {
    const message = recordMessage("dlq-1", { lost: false }, {}, 10);
    const result = await deliver([message], { queue: "sluice-ingest-dlq" });
    expect(result.ackAll).toBe(true);
    const row = await env.DB.prepare("SELECT * FROM _sluice_dead_letters WHERE message_id = ?1")
      .bind(message.id)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({
      queue: "sluice-ingest",
      kind: "record",
      source: "generic",
      stream: "events",
      key: "dlq-1",
      attempts: 10,
      reason: "exhausted its retries on sluice-ingest; last error: not recorded",
    });
    expect(JSON.parse(String(row!.body))).toEqual(message.body);

    // Redelivery of the same dead letter is recorded once.
    await deliver([message], { queue: "sluice-ingest-dlq" });
    const count = await env.DB.prepare("SELECT count(*) AS n FROM _sluice_dead_letters WHERE message_id = ?1").bind(message.id).first("n");
    expect(count).toBe(1);
  });

  it("records a message whose text is not JSON with that text, alongside the readable ones of its batch", async () => {
    const readable = recordMessage("dlq-text-1", { fine: true }, {}, 10);
    const garbled = { id: "dlq-garbled-1", timestamp: new Date(), attempts: 10, body: "\u0000not json" };
    const result = await deliver([readable, garbled], { queue: "sluice-ingest-dlq" });
    expect(result.ackAll).toBe(true);
    const rows = await env.DB.prepare(
      "SELECT message_id, key, body FROM _sluice_dead_letters WHERE message_id IN (?1, ?2) ORDER BY message_id",
    )
      .bind(readable.id, garbled.id)
      .all();
    expect(rows.results).toEqual([
      { message_id: garbled.id, key: null, body: garbled.body },
      { message_id: readable.id, key: "dlq-text-1", body: JSON.stringify(readable.body) },
    ]);
  });
});
