import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createRuntime } from "../../src/env.ts";
import { readRawObject } from "../../src/load/raw-zone.ts";
import { planReplay } from "../../src/load/replay.ts";
import { adminToken } from "../support/fixtures.ts";
import { consumeWith, labRecord as lab, labRuntime, rows, type TestMessage } from "../support/pipeline.ts";
import { deliver, recordMessage } from "../support/queue.ts";
import { call, origin, recordingQueue } from "../support/worker.ts";

const admin = (path: string, init: RequestInit = {}) =>
  new Request(`${origin}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json", ...init.headers },
  });

/** A D1 whose batches fail at the statement at `index`, as a real mid-batch failure would. */
function failingMidBatch(index: number): D1Database {
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) =>
          target.batch([...statements.slice(0, index), target.prepare("INSERT INTO no_such_table VALUES (1)"), ...statements.slice(index)]);
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("faults never lose or duplicate", () => {
  it("a D1 statement failing halfway through a batch leaves no partial rows; the retry loads exactly", async () => {
    const messages = Array.from({ length: 30 }, (_, i) => lab(`mid-${i}`, { i, pad: "p".repeat(40_000) }, "faulty"));
    const failing = labRuntime({ faulty: {} }, { DB: failingMidBatch(4) });
    const first = await consumeWith(failing, messages);
    expect(first.explicitAcks).toEqual([]);
    expect(first.retryMessages).toHaveLength(30);
    expect(await rows("SELECT name FROM sqlite_master WHERE name = 'raw_lab__faulty'")).toEqual([]);
    expect(await rows("SELECT * FROM _sluice_loads WHERE stream = 'faulty'")).toEqual([]);
    // The failure is remembered, for the dead-letter record should retries run out.
    const [error] = await rows<{ error: string }>("SELECT error FROM _sluice_message_errors WHERE message_id = ?1", messages[0]!.id);
    expect(error!.error).toContain("could not load lab/faulty into D1");

    const retry = await consumeWith(
      labRuntime({ faulty: {} }),
      messages.map((m) => ({ ...m, attempts: 2 })),
    );
    expect(retry.explicitAcks).toHaveLength(30);
    expect(await rows("SELECT _sluice_key, i, length(pad) AS pad FROM raw_lab__faulty ORDER BY i")).toEqual(
      Array.from({ length: 30 }, (_, i) => ({ _sluice_key: `mid-${i}`, i, pad: 40_000 })),
    );
  });

  it("the same message delivered three times yields one row", async () => {
    const runtime = labRuntime({ thrice: {} });
    const message = lab("thrice-1", { v: 1 }, "thrice");
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect((await consumeWith(runtime, [{ ...message, attempts: attempt }])).explicitAcks).toEqual([message.id]);
    }
    expect(await rows("SELECT _sluice_key, v FROM raw_lab__thrice")).toEqual([{ _sluice_key: "thrice-1", v: 1 }]);
    const loads = await rows<{ inserted: number; duplicates: number }>(
      "SELECT inserted, duplicates FROM _sluice_loads WHERE stream = 'thrice' ORDER BY started_at",
    );
    expect(loads).toEqual([
      { inserted: 1, duplicates: 0 },
      { inserted: 0, duplicates: 1 },
      { inserted: 0, duplicates: 1 },
    ]);
  });

  it("a poison message is dead-lettered at once with its reason, not retried", async () => {
    const poison: TestMessage = {
      id: "poison-1",
      timestamp: new Date(),
      attempts: 1,
      body: {
        v: 1,
        kind: "record",
        source: "lab",
        stream: "Not A Stream!",
        key: "k",
        receivedAt: new Date().toISOString(),
        deliveryId: "d",
        payload: {},
      },
    };
    const result = await consumeWith(labRuntime({}), [poison]);
    expect(result.explicitAcks).toEqual(["poison-1"]);
    expect(result.retryMessages).toEqual([]);
    const [dead] = await rows<{ reason: string; attempts: number }>(
      "SELECT reason, attempts FROM _sluice_dead_letters WHERE message_id = 'poison-1'",
    );
    expect(dead).toEqual({ reason: 'bad_request: not a valid SQL identifier: "raw_lab__Not A Stream!"', attempts: 1 });
  });

  it("a message that exhausted its retries is recorded from the DLQ with its last error", async () => {
    const runtime = labRuntime({ doomed: {} }, { DB: failingMidBatch(1) });
    const message = lab("doomed-1", { x: 1 }, "doomed");
    await consumeWith(runtime, [{ ...message, attempts: 10 }]);
    await deliver([{ ...message, attempts: 10 }], { queue: "sluice-ingest-dlq" });
    const [dead] = await rows<{ reason: string }>("SELECT reason FROM _sluice_dead_letters WHERE message_id = ?1", message.id);
    expect(dead!.reason).toMatch(/^exhausted its retries on sluice-ingest; last error: could not load lab\/doomed into D1/);
  });
});

describe("a consumer that throws at random points", () => {
  type Delivered = ReturnType<typeof recordMessage>;
  /** Queues' side: redelivers what was not acked, up to max_retries (10), then dead-letters it. */
  async function throughQueues(messages: Delivered[], faultsFor: (attempt: number) => string): Promise<Delivered[]> {
    let pending = messages;
    for (let attempt = 1; attempt <= 11 && pending.length > 0; attempt++) {
      const batch = pending.map((message) => ({ ...message, attempts: attempt }));
      let acked: string[] = [];
      try {
        acked = (await deliver(batch, { env: { SLUICE_FAULTS: faultsFor(attempt) } })).explicitAcks;
      } catch {
        // The handler threw before acking anything: Queues retries the whole batch.
      }
      pending = pending.filter((message) => !acked.includes(message.id));
    }
    if (pending.length > 0)
      await deliver(
        pending.map((message) => ({ ...message, attempts: 11 })),
        { queue: "sluice-ingest-dlq" },
      );
    return pending;
  }

  it("is absorbed by retries and the dead-letter path, and redrive brings the count back to exact", async () => {
    const messages = Array.from({ length: 30 }, (_, i) => recordMessage(`chaos-${i}`, { type: "chaos", i }));
    // Half go through Queues with the consumer throwing half the time, at the start of a batch or
    // after its load and before its ack; the other half fail on every attempt until they run out
    // of retries.
    const lucky = await throughQueues(messages.slice(0, 15), () => "consumer=0.5");
    const doomed = await throughQueues(messages.slice(15), () => "consumer=1");
    expect(doomed).toHaveLength(15);
    const dead = [...lucky, ...doomed];
    expect(dead.length).toBeGreaterThanOrEqual(15);

    const open = await rows<{ id: number }>(
      `SELECT id FROM _sluice_dead_letters WHERE status = 'open' AND message_id IN (${dead.map(() => "?").join(",")})`,
      ...dead.map((message) => message.id),
    );
    expect(open).toHaveLength(dead.length);

    // Redrive, then the queue delivers the redriven messages once more, with the fault gone.
    const ingest = recordingQueue(env.INGEST);
    const response = await call(
      admin("/v1/dead-letters/redrive", { method: "POST", body: JSON.stringify({ ids: open.map((row) => row.id) }) }),
      { INGEST: ingest.queue },
    );
    expect(await response.json()).toEqual({ redriven: dead.length });
    const redriven = ingest.sent.map((sent, i) => ({ id: `redriven-${i}`, timestamp: new Date(), attempts: 1, body: sent.body }));
    expect((await deliver(redriven)).explicitAcks).toHaveLength(dead.length);

    expect(await rows("SELECT _sluice_key, type, i FROM raw_generic__events WHERE _sluice_key LIKE 'chaos-%' ORDER BY i")).toEqual(
      Array.from({ length: 30 }, (_, i) => ({ _sluice_key: `chaos-${i}`, type: "chaos", i })),
    );
  });
});

describe("limits in practice", () => {
  it("loads a batch holding one 1.5 MB record", async () => {
    const runtime = labRuntime({ big: {} });
    const result = await consumeWith(runtime, [lab("big-1", { blob: "b".repeat(1_500_000), n: 1 }, "big"), lab("big-2", { n: 2 }, "big")]);
    expect(result.explicitAcks).toHaveLength(2);
    const loaded = await rows<{ _sluice_key: string; blob: string | null; n: number }>(
      "SELECT _sluice_key, blob, n FROM raw_lab__big ORDER BY _sluice_key",
    );
    // 1.5 MB is past one row's budget, so the value is a pointer into the raw zone; nothing is dropped.
    expect(loaded).toEqual([
      { _sluice_key: "big-1", blob: expect.stringMatching(/^\{"\$ref":"raw\/lab\/big\/dt=[^"#]+#\d+"\}$/), n: 1 },
      { _sluice_key: "big-2", blob: null, n: 2 },
    ]);
    const [r2Key, line] = (JSON.parse(loaded[0]!.blob!) as { $ref: string }).$ref.split("#") as [string, string];
    const record = (await readRawObject(env.RAW, r2Key))[Number(line) - 1]!;
    expect(record.key).toBe("big-1");
    expect(record.payload).toEqual({ blob: "b".repeat(1_500_000), n: 1 });
  });

  it("loads a batch of 100 records of 100 KB each", async () => {
    const runtime = labRuntime({ wide: {} });
    const messages = Array.from({ length: 100 }, (_, i) => lab(`wide-${i}`, { i, blob: "w".repeat(100_000) }, "wide"));
    expect((await consumeWith(runtime, messages)).explicitAcks).toHaveLength(100);
    expect(
      await rows("SELECT count(*) AS n, count(DISTINCT i) AS d, min(i) AS lo, max(i) AS hi, sum(length(blob)) AS bytes FROM raw_lab__wide"),
    ).toEqual([{ n: 100, d: 100, lo: 0, hi: 99, bytes: 10_000_000 }]);
    expect(await rows("SELECT count(*) AS n FROM raw_lab__wide WHERE blob <> ?1", "w".repeat(100_000))).toEqual([{ n: 0 }]);
  });
});

describe("replay from the raw zone", () => {
  it("replaying a day's raw objects into an emptied table restores exactly the same rows", async () => {
    const runtime = labRuntime({ replayed: {} });
    const day = "2025-05-05";
    await consumeWith(
      runtime,
      Array.from({ length: 5 }, (_, i) => lab(`rp-${i}`, { i, kind: i % 2 ? "odd" : "even" }, "replayed", `${day}T0${i}:00:00.000Z`)),
    );
    await consumeWith(runtime, [lab("rp-5", { i: 5, kind: "odd" }, "replayed", `${day}T09:00:00.000Z`)]);
    const before = await rows("SELECT _sluice_key, _sluice_received_at, i, kind FROM raw_lab__replayed ORDER BY _sluice_key");
    expect(before).toHaveLength(6);

    await env.DB.prepare("DELETE FROM raw_lab__replayed").run();
    // Raw objects are keyed by load time, so replay the day the loads ran.
    const today = new Date().toISOString().slice(0, 10);
    const ingest = recordingQueue(env.INGEST);
    const replayRuntime = labRuntime({ replayed: {} }, { INGEST: ingest.queue });
    const days = await planReplay(replayRuntime, {
      source: "lab",
      stream: "replayed",
      from: `${today}T00:00:00.000Z`,
      to: `${today}T23:59:59.999Z`,
    });
    expect(days).toHaveLength(1);

    // Drive the queued tasks through the consumer as the queue would.
    const dayTasks = ingest.sent.map((s, i) => ({ id: `day-${i}`, timestamp: new Date(), attempts: 1, body: s.body }));
    ingest.sent.length = 0;
    await consumeWith(replayRuntime, dayTasks);
    const objectTasks = ingest.sent.map((s, i) => ({ id: `obj-${i}`, timestamp: new Date(), attempts: 1, body: s.body }));
    expect(objectTasks.length).toBeGreaterThanOrEqual(2);
    expect((await consumeWith(replayRuntime, objectTasks)).explicitAcks).toHaveLength(objectTasks.length);

    expect(await rows("SELECT _sluice_key, _sluice_received_at, i, kind FROM raw_lab__replayed ORDER BY _sluice_key")).toEqual(before);
    // Replaying again adds nothing.
    await consumeWith(
      replayRuntime,
      objectTasks.map((t) => ({ ...t, id: `${t.id}-again` })),
    );
    expect(await rows("SELECT count(*) AS n FROM raw_lab__replayed")).toEqual([{ n: 6 }]);
    const kinds = await rows("SELECT DISTINCT kind FROM _sluice_loads WHERE stream = 'replayed' ORDER BY kind");
    expect(kinds).toEqual([{ kind: "ingest" }, { kind: "replay" }]);
  });
});

describe("ops API: replay, quarantine retry, dead-letter redrive, reconcile", () => {
  it("POST /v1/replay queues one task per stream and day", async () => {
    const ingest = recordingQueue(env.INGEST);
    const response = await call(
      admin("/v1/replay", {
        method: "POST",
        body: JSON.stringify({ source: "generic", stream: "events", from: "2026-01-01T00:00:00Z", to: "2026-01-03T12:00:00Z" }),
      }),
      { INGEST: ingest.queue },
    );
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({
      queued: 3,
      tasks: ["2026-01-01", "2026-01-02", "2026-01-03"].map((day) => ({ source: "generic", stream: "events", day })),
    });
    expect(ingest.sent.map((s) => (s.body as { kind: string }).kind)).toEqual(["replay_day", "replay_day", "replay_day"]);
  });

  it.each([
    [{ source: "generic", from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z" }, 400, "bad_request"],
    [{ source: "generic", from: "yesterday", to: "2026-01-01T00:00:00Z" }, 400, "bad_request"],
    [{ source: "nosuch", from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }, 404, "unknown_source"],
    [{ source: "generic", stream: "nosuch", from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }, 400, "bad_request"],
  ])("POST /v1/replay rejects %j", async (body, status, code) => {
    const response = await call(admin("/v1/replay", { method: "POST", body: JSON.stringify(body) }));
    expect(response.status).toBe(status);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it("POST /v1/replay refuses a body that is not JSON with 415, rather than reading it as empty", async () => {
    const body = JSON.stringify({ source: "generic", from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z" });
    const response = await call(admin("/v1/replay", { method: "POST", headers: { "content-type": "text/plain" }, body }));
    expect(response.status).toBe(415);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error).toMatchObject({ code: "unsupported_media_type", message: "Unsupported Media Type" });
  });

  it("POST /v1/replay needs an admin token", async () => {
    const response = await call(new Request(`${origin}/v1/replay`, { method: "POST", body: "{}" }));
    expect(response.status).toBe(401);
  });

  it("POST /v1/quarantine/retry re-drives a record once its stream is fixed", async () => {
    const strict = labRuntime({ fixable: { schema: z.object({ n: z.number() }) } });
    await consumeWith(strict, [lab("fix-1", { n: "not a number" }, "fixable")]);
    const [q] = await rows<{ id: number }>("SELECT id FROM _sluice_quarantine WHERE key = 'fix-1'");

    const ingest = recordingQueue(env.INGEST);
    const response = await call(admin("/v1/quarantine/retry", { method: "POST", body: JSON.stringify({ ids: [q!.id] }) }), {
      INGEST: ingest.queue,
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ retried: 1, fallbacks: [], skipped: [] });
    expect(ingest.sent[0]!.body).toMatchObject({ kind: "record", key: "fix-1", origin: "redrive", payload: { n: "not a number" } });
    expect(await rows("SELECT status FROM _sluice_quarantine WHERE id = ?1", q!.id)).toEqual([{ status: "retried" }]);

    // With the schema fixed, the redriven record loads.
    const fixed = labRuntime({ fixable: { schema: z.object({ n: z.union([z.number(), z.string()]) }) } });
    const redriven = ingest.sent.map((s, i) => ({ id: `redrive-${i}`, timestamp: new Date(), attempts: 1, body: s.body }));
    expect((await consumeWith(fixed, redriven)).explicitAcks).toHaveLength(1);
    // The schema's union declares n a number, so the text value lands in its variant column.
    expect(await rows("SELECT _sluice_key, n, n__v_text FROM raw_lab__fixable")).toEqual([
      { _sluice_key: "fix-1", n: null, n__v_text: "not a number" },
    ]);
    expect(await rows("SELECT kind FROM _sluice_loads WHERE stream = 'fixable' ORDER BY started_at DESC LIMIT 1")).toEqual([
      { kind: "redrive" },
    ]);
  });

  it("POST /v1/dead-letters/redrive sends dead letters back to their queue", async () => {
    const message = recordMessage("dl-redrive-1", { x: 1 }, {}, 10);
    await deliver([message], { queue: "sluice-ingest-dlq" });
    const [dead] = await rows<{ id: number }>("SELECT id FROM _sluice_dead_letters WHERE message_id = ?1", message.id);

    const ingest = recordingQueue(env.INGEST);
    const response = await call(admin("/v1/dead-letters/redrive", { method: "POST", body: JSON.stringify({ ids: [dead!.id] }) }), {
      INGEST: ingest.queue,
    });
    expect(await response.json()).toEqual({ redriven: 1 });
    expect(ingest.sent.map((s) => s.body)).toEqual([message.body]);
    expect(await rows("SELECT status FROM _sluice_dead_letters WHERE id = ?1", dead!.id)).toEqual([{ status: "redriven" }]);
    // A second redrive finds nothing open.
    const again = await call(admin("/v1/dead-letters/redrive", { method: "POST", body: JSON.stringify({ ids: [dead!.id] }) }), {
      INGEST: ingest.queue,
    });
    expect(await again.json()).toEqual({ redriven: 0 });
  });

  it("GET /v1/reconcile accounts for every record of a stream", async () => {
    const runtime = createRuntime(env, "queue");
    expect(runtime.config.sources.generic).toBeDefined();
    // Its own stream: one record delivered three times, so one row and two duplicates.
    const once = lab("reconciled-1", { v: 1 }, "reconciled");
    for (let attempt = 1; attempt <= 3; attempt++) await consumeWith(labRuntime({ reconciled: {} }), [{ ...once, attempts: attempt }]);
    const response = await call(admin("/v1/reconcile"));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { streams: Record<string, unknown>[]; adds_up: boolean };
    const stripeCharges = body.streams.find((s) => s.source === "stripe" && s.stream === "charges");
    expect(stripeCharges).toMatchObject({ accepted: 0, processed: 0, loaded: 0, rows: 0, in_flight: 0, adds_up: true });
    const reconciled = body.streams.find((s) => s.source === "lab" && s.stream === "reconciled");
    expect(reconciled).toMatchObject({ processed: 3, loaded: 1, duplicates: 2, quarantined: 0, filtered: 0, dead_lettered: 0, rows: 1 });
  });
});
