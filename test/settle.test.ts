/**
 * The settle step every queue consumer shares: ack on success, retry with backoff (remembering the
 * error) when retryable, dead-letter at once when terminal. Driven directly, then through the pull
 * consumer, the model-run continuation and the ingest consumer, with real D1 and real batches.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createRuntime, type Runtime } from "../src/env.ts";
import { SluiceError } from "../src/lib/errors.ts";
import { createLogger } from "../src/lib/log.ts";
import { consumeIngestBatch } from "../src/load/consumer.ts";
import { consumePullMessages } from "../src/pull/consumer.ts";
import { startPull } from "../src/pull/planner.ts";
import { settle, type WorkOutcome } from "../src/settle.ts";
import { fakeApi, pullRuntime } from "./support/pump.ts";
import { deliver, recordMessage } from "./support/queue.ts";

let sequence = 0;
const message = (body: unknown, attempts = 1) => ({
  id: `settle-${Date.now()}-${++sequence}`,
  timestamp: new Date(),
  attempts,
  body: JSON.stringify(body),
});

const deadLetter = (id: string) =>
  env.DB.prepare("SELECT * FROM _sluice_dead_letters WHERE message_id = ?1").bind(id).first<Record<string, unknown>>();
const rememberedError = (id: string) =>
  env.DB.prepare("SELECT error, attempts FROM _sluice_message_errors WHERE message_id = ?1").bind(id).first();

function withLines(base: Runtime): { runtime: Runtime; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { runtime: { ...base, log: createLogger({ sink: (line) => lines.push(JSON.parse(line)) }) }, lines };
}

/** The batch's messages, with what was done to each (ack, or retry with its delay) noted as it happens. */
function watched(batch: MessageBatch<unknown>) {
  const calls: unknown[] = [];
  const messages = batch.messages.map((m) => ({
    id: m.id,
    timestamp: m.timestamp,
    attempts: m.attempts,
    body: m.body,
    ack: () => calls.push({ ack: m.id }),
    retry: (options?: QueueRetryOptions) => calls.push({ retry: m.id, delaySeconds: options?.delaySeconds }),
  }));
  return { messages, calls };
}

async function settleOne(body: unknown, work: () => Promise<WorkOutcome>, attempts = 1) {
  const sent = message(body, attempts);
  const { messages, calls } = watched(createMessageBatch("sluice-ingest", [sent]));
  const runtime = createRuntime(env, "queue");
  await settle(runtime, messages, { queue: "sluice-ingest", log: runtime.log, event: "test.failed" }, work);
  return { id: sent.id, calls };
}

describe("settle", () => {
  it("acks work that succeeds", async () => {
    const { id, calls } = await settleOne({ kind: "record" }, async () => undefined);
    expect(calls).toEqual([{ ack: id }]);
  });

  it("dead-letters a terminal failure at once, with its reason and text, and acks it", async () => {
    const body = { v: 1, kind: "record", source: "generic", stream: "events", key: "settle-terminal" };
    const { id, calls } = await settleOne(body, async () => {
      throw new SluiceError("invalid_message", "the record can never load");
    });
    expect(calls).toEqual([{ ack: id }]);
    expect(await deadLetter(id)).toMatchObject({
      reason: "invalid_message: the record can never load",
      key: "settle-terminal",
      body: JSON.stringify(body),
      status: "open",
    });
  });

  it("retries a retryable failure with backoff, remembers its error, and records no dead letter", async () => {
    const { id, calls } = await settleOne({ kind: "record" }, async () => Promise.reject(new Error("D1_ERROR: database is locked")), 3);
    expect(calls).toEqual([{ retry: id, delaySeconds: 20 }]);
    expect(await rememberedError(id)).toEqual({ error: "D1_ERROR: database is locked", attempts: 3 });
    expect(await deadLetter(id)).toBeNull();
  });

  it("retries with the delay the work asked for", async () => {
    const { id, calls } = await settleOne({ kind: "page" }, async () => ({ retryAfterSeconds: 42 }));
    expect(calls).toEqual([{ retry: id, delaySeconds: 42 }]);
  });
});

describe("the consumers settle with it", () => {
  it("pull: a page task failing terminally is dead-lettered and acked, not retried forever", async () => {
    await fakeApi("/__admin/reset", { issues: 5 });
    await env.DB.prepare("DELETE FROM _sluice_pull_leases").run();
    const p = pullRuntime();
    await startPull(p.runtime, "github_api", "issues", "manual");
    const task = p.pull.take()[0];
    // A config that cannot be read: the same failure on every attempt.
    const broken = new Proxy(
      {},
      {
        get: () => {
          throw new SluiceError("invalid_config", "pulls cannot be read");
        },
      },
    );
    const runtime = { ...p.runtime, config: { ...p.runtime.config, pulls: broken } } as Runtime;
    const sent = message(task);
    const batch = createMessageBatch("sluice-pull", [sent]);

    expect(await consumePullMessages(batch.messages, runtime, "sluice-pull")).toEqual([]);
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.explicitAcks).toEqual([sent.id]);
    expect(result.retryMessages).toEqual([]);
    expect(await deadLetter(sent.id)).toMatchObject({
      queue: "sluice-pull",
      kind: "page",
      source: "github_api",
      stream: "issues",
      reason: "invalid_config: pulls cannot be read",
    });
  });

  it("pull: a page task failing retryably is retried with backoff and its error remembered", async () => {
    // The run cannot be read; everything else about D1 works (so the error can be remembered).
    const failingDb = {
      prepare: (sql: string) => {
        if (sql.includes("_sluice_pull_runs")) throw new Error("D1_ERROR: pull runs unavailable");
        return env.DB.prepare(sql);
      },
      batch: env.DB.batch.bind(env.DB),
    } as unknown as D1Database;
    const runtime = { ...createRuntime(env, "queue"), env: { ...env, DB: failingDb } } as Runtime;
    const sent = message(
      { v: 1, kind: "page", source: "github_api", stream: "issues", runId: "pr_settle", page: 1, url: "https://api.example/x" },
      2,
    );
    const { messages, calls } = watched(createMessageBatch("sluice-pull", [sent]));
    await consumePullMessages(messages, runtime, "sluice-pull");
    expect(calls).toEqual([{ retry: sent.id, delaySeconds: 10 }]);
    expect(await rememberedError(sent.id)).toEqual({ error: "D1_ERROR: pull runs unavailable", attempts: 2 });
    expect(await deadLetter(sent.id)).toBeNull();
  });

  it("model continuation: a run whose stored selection no longer parses is dead-lettered, not retried", async () => {
    const runId = `run_settle_${Date.now()}`;
    await env.DB.prepare(
      "INSERT INTO _sluice_model_runs (run_id, trigger, status, started_at, args) VALUES (?1, 'cron', 'running', ?2, ?3)",
    )
      .bind(
        runId,
        new Date().toISOString(),
        JSON.stringify({ command: "build", select: ["tag:"], exclude: [], full_refresh: false, trigger: "cron" }),
      )
      .run();
    const sent = message({ v: 1, kind: "model_run", runId });
    const result = await deliver([sent]);
    expect(result.explicitAcks).toEqual([sent.id]);
    expect(result.retryMessages).toEqual([]);
    const row = await deadLetter(sent.id);
    expect(row).toMatchObject({ kind: "model_run", status: "open" });
    expect(String(row!.reason)).toMatch(/^bad_request: selector "tag:" has no value/);
  });

  it("ingest: an alert that cannot be raised is logged, and the load is still retried", async () => {
    // D1 refuses the load's batch and any statement on the incidents table; the rest works.
    const failingDb = {
      prepare: (sql: string) => {
        if (sql.includes("_sluice_incidents")) throw new Error("D1_ERROR: incidents table unavailable");
        return env.DB.prepare(sql);
      },
      batch: async () => Promise.reject(new Error("D1_ERROR: database is locked")),
    } as unknown as D1Database;
    const { runtime, lines } = withLines({ ...createRuntime(env, "queue"), env: { ...env, DB: failingDb } } as Runtime);
    const record = recordMessage("settle-alert", { n: 1 }, {}, 3);
    const { messages, calls } = watched(createMessageBatch("sluice-ingest", [{ ...record, body: JSON.stringify(record.body) }]));
    await consumeIngestBatch({ queue: "sluice-ingest", messages }, runtime);
    expect(calls).toEqual([{ retry: record.id, delaySeconds: 20 }]);
    expect(lines.find((line) => line.event === "alert.failed")).toMatchObject({
      level: "error",
      kind: "load_failed",
      subject: "generic/events",
      error: { message: "D1_ERROR: incidents table unavailable" },
    });
  });
});
