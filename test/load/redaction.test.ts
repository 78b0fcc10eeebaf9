/**
 * Fields a stream redacts or hashes never reach D1 in clear, whichever way a record goes (a row,
 * a quarantine row, a dead letter), nor any API response, and a hash is never hashed again. Proved
 * on the bytes of this run's own D1 database files (test/support/d1-files-setup.ts).
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { resourceSchema } from "../../src/config/pull-schema.ts";
import type { AppEnv, Runtime } from "../../src/env.ts";
import { errorBody, toSluiceError } from "../../src/lib/errors.ts";
import { createLogger } from "../../src/lib/log.ts";
import { consumeDeadLetterBatch, redriveDeadLetters } from "../../src/load/dead-letters.ts";
import { retryQuarantined } from "../../src/load/quarantine.ts";
import { loadRoutes } from "../../src/load/routes.ts";
import { naturalKey } from "../../src/pull/page.ts";
import { adminToken } from "../support/fixtures.ts";
import { sha256Hex } from "../support/http.ts";
import { consumeWith, labRuntime, rows, type TestMessage } from "../support/pipeline.ts";
import { recordMessage } from "../support/queue.ts";
import { recordingQueue } from "../support/worker.ts";

const salt = "redaction-salt";
const run = crypto.randomUUID().slice(0, 8);
/** Values that must never be found in D1: one in a redacted field, one in a hashed field. */
const password = `pw-${run}-never-stored`;
const email = `mail-${run}@never.stored`;
/** A field no transform touches: it is stored in clear, which is how the scan finds this run's database. */
const visible = `visible-${run}-in-clear`;

const protectedStreams = {
  vault: { schema: z.looseObject({ plan: z.string() }), redact: ["password"], hash: ["email"] },
  vault_raw: { schema: z.looseObject({ plan: z.string() }), redact: ["password"], hash: ["email"], redactRaw: true },
  vault_merge: { disposition: "merge" as const, primaryKey: ["id"], redact: ["password"], hash: ["email"] },
  vault_throws: {
    map: (r: Record<string, unknown>) => {
      throw new Error(`cannot map ${String(r.email)} with ${String(r.password)}`);
    },
    redact: ["password"],
    hash: ["email"],
  },
  vault_mapped: {
    map: (r: Record<string, unknown>) => ({ ...r, plan: String(r.plan ?? "") }),
    schema: z.looseObject({ plan: z.string().min(1) }),
    redact: ["password"],
    hash: ["email"],
  },
};
const relaxed = {
  vault: { ...protectedStreams.vault, schema: z.looseObject({ plan: z.string().optional() }) },
  vault_raw: { ...protectedStreams.vault_raw, schema: z.looseObject({ plan: z.string().optional() }) },
};

const secrets = (extra: Record<string, unknown> = {}) => ({ note: visible, email, password, ...extra });
const lab = (key: string, stream: string, payload: unknown) => recordMessage(key, payload, { source: "lab", stream });

function withLog(runtime: Runtime): { runtime: Runtime; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { runtime: { ...runtime, log: createLogger({ sink: (line) => lines.push(JSON.parse(line)) }) }, lines };
}

/** The load stage's routes, served with a test's own pipeline config. */
function api(runtime: Runtime) {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set("requestId", "req_test");
    c.set("runtime", runtime);
    await next();
  });
  app.route("/", loadRoutes);
  app.onError((error, c) => {
    const failure = toSluiceError(error);
    return c.json(errorBody(failure, "req_test"), failure.status);
  });
  return (path: string, init: RequestInit = {}) =>
    app.request(
      path,
      { ...init, headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json", ...init.headers } },
      env,
    );
}

async function deadLetter(runtime: Runtime, messages: TestMessage[]) {
  const batch = createMessageBatch("sluice-ingest-dlq", messages);
  await consumeDeadLetterBatch(batch, runtime);
  return getQueueResult(batch, createExecutionContext());
}

async function scanD1(needles: string[]): Promise<{ databases: string[][]; found: Record<string, string[]> }> {
  const response = await fetch(`${env.D1_FILES_URL}/scan`, { method: "POST", body: JSON.stringify({ locate: visible, needles }) });
  expect(response.status).toBe(200);
  return response.json();
}

describe("redacted and hashed fields never reach D1 in clear", () => {
  const runtime = labRuntime(protectedStreams, { SLUICE_HASH_SALT: salt } as Partial<Env>);
  const call = api(runtime);

  it("stores rows, quarantine rows and dead letters with the stream's redact and hash applied", async () => {
    const loaded = await consumeWith(runtime, [
      lab("ok-1", "vault", secrets({ plan: "pro" })),
      lab("q-1", "vault", secrets()),
      lab("qr-1", "vault_raw", secrets()),
      lab("qm-0", "vault_merge", { id: 1, note: visible }),
      lab("qmap-1", "vault_mapped", secrets()),
      lab("qt-1", "vault_throws", secrets()),
      // Not a valid message (no delivery id), but it names its stream: dead-lettered at once.
      {
        id: `bad-${run}`,
        timestamp: new Date(),
        attempts: 1,
        body: {
          v: 1,
          kind: "record",
          source: "lab",
          stream: "vault",
          key: "bad-1",
          receivedAt: new Date().toISOString(),
          payload: secrets(),
        },
      },
    ]);
    expect(loaded.explicitAcks).toHaveLength(7);
    // A key whose type changes is held back by the load plan, after the record was prepared.
    await consumeWith(runtime, [lab("qm-1", "vault_merge", secrets({ id: "A-1" }))]);

    // Records and pulled pages that ran out of retries, from the dead-letter queue.
    const dead = await deadLetter(runtime, [
      { ...lab("dl-1", "vault", secrets()), id: `dl-1-${run}`, attempts: 10 },
      {
        id: `dl-2-${run}`,
        timestamp: new Date(),
        attempts: 10,
        body: {
          v: 1,
          kind: "records",
          source: "lab",
          stream: "vault",
          receivedAt: new Date().toISOString(),
          deliveryId: "page_1",
          records: [{ key: "dl-2", payload: secrets() }],
        },
      },
    ]);
    expect(dead.ackAll).toBe(true);

    const hashed = await sha256Hex(`${salt}${email}`);
    const [row] = await rows<Record<string, unknown>>("SELECT * FROM raw_lab__vault WHERE _sluice_key = 'ok-1'");
    expect(row).toMatchObject({ email: hashed, note: visible });
    expect(row).not.toHaveProperty("password");

    const held = await rows<{ key: string; record: string }>(
      "SELECT key, record FROM _sluice_quarantine WHERE key IN ('q-1', 'qr-1', 'qm-1', 'qmap-1', 'qt-1') ORDER BY key",
    );
    expect(held.map((q) => q.key)).toEqual(["q-1", "qm-1", "qmap-1", "qr-1", "qt-1"]);
    for (const q of held) {
      expect(JSON.parse(q.record)).toMatchObject({ note: visible, email: hashed });
      expect(JSON.parse(q.record)).not.toHaveProperty("password");
    }
    // A transform's own message may quote the values; the reason keeps neither.
    expect(await rows("SELECT reason FROM _sluice_quarantine WHERE key = 'qt-1'")).toEqual([
      { reason: "transform failed: cannot map [redacted] with [redacted]" },
    ]);

    const letters = await rows<{ message_id: string; body: string }>(
      "SELECT message_id, body FROM _sluice_dead_letters WHERE message_id IN (?1, ?2, ?3)",
      `bad-${run}`,
      `dl-1-${run}`,
      `dl-2-${run}`,
    );
    expect(letters).toHaveLength(3);
    for (const letter of letters) {
      const body = JSON.parse(letter.body) as { payload?: unknown; records?: { payload: unknown }[]; redacted?: boolean };
      const payload = body.payload ?? body.records?.[0]?.payload;
      expect(payload).toMatchObject({ note: visible, email: hashed });
      expect(payload).not.toHaveProperty("password");
      expect(body.redacted).toBe(true);
    }

    // The bytes of the database itself: WAL and free pages included.
    const scan = await scanD1([password, email]);
    expect(scan.databases.length).toBeGreaterThan(0);
    expect(scan.found).toEqual({ [password]: [], [email]: [] });
  });

  it("serves no clear value from GET /v1/quarantine or GET /v1/dead-letters", async () => {
    for (const path of ["/v1/quarantine?source=lab&limit=500", "/v1/dead-letters?source=lab&limit=500"]) {
      const response = await call(path);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain(visible);
      expect(text).not.toContain(password);
      expect(text).not.toContain(email);
    }
  });

  it("masks rows stored in clear before redaction covered quarantine and dead letters", async () => {
    const oldPassword = `old-pw-${run}`;
    const oldEmail = `old-${run}@example.com`;
    const record = JSON.stringify({ note: "legacy", email: oldEmail, password: oldPassword });
    await env.DB.prepare(
      "INSERT INTO _sluice_quarantine (source, stream, key, load_id, reason, record, quarantined_at) VALUES ('lab', 'vault', ?1, 'ld_legacy', 'schema: plan: required', ?2, ?3)",
    )
      .bind(`legacy-${run}`, record, new Date().toISOString())
      .run();
    const body = JSON.stringify({
      v: 1,
      kind: "record",
      source: "lab",
      stream: "vault",
      key: `legacy-${run}`,
      receivedAt: new Date().toISOString(),
      deliveryId: "req_legacy",
      payload: JSON.parse(record),
    });
    await env.DB.prepare(
      "INSERT INTO _sluice_dead_letters (queue, message_id, kind, source, stream, key, attempts, reason, body) VALUES ('sluice-ingest', ?1, 'record', 'lab', 'vault', ?2, 10, 'old', ?3)",
    )
      .bind(`legacy-${run}`, `legacy-${run}`, body)
      .run();

    const hashed = await sha256Hex(`${salt}${oldEmail}`);
    const quarantined = (await (await call("/v1/quarantine?source=lab&stream=vault&limit=500")).json()) as {
      quarantine: { key: string; record: string }[];
    };
    const legacy = quarantined.quarantine.find((q) => q.key === `legacy-${run}`)!;
    expect(JSON.parse(legacy.record)).toEqual({ note: "legacy", email: hashed });
    const letters = (await (await call("/v1/dead-letters?source=lab&stream=vault&limit=500")).json()) as {
      dead_letters: { messageId: string; body: string }[];
    };
    const letter = letters.dead_letters.find((d) => d.messageId === `legacy-${run}`)!;
    expect(JSON.parse(letter.body)).toMatchObject({ payload: { note: "legacy", email: hashed }, redacted: true });
  });
});

describe("a hash is never hashed again", () => {
  const strict = labRuntime(protectedStreams, { SLUICE_HASH_SALT: salt } as Partial<Env>);
  const fixed = labRuntime({ ...protectedStreams, ...relaxed }, { SLUICE_HASH_SALT: salt } as Partial<Env>);

  async function retryAndLoad(runtime: Runtime, id: number) {
    const ingest = recordingQueue(env.INGEST);
    const result = await retryQuarantined({ ...runtime, env: { ...runtime.env, INGEST: ingest.queue } }, { ids: [id], limit: 10 });
    const redriven = ingest.sent.map((s, i) => ({ id: `redrive-${run}-${id}-${i}`, timestamp: new Date(), attempts: 1, body: s.body }));
    expect((await consumeWith(fixed, redriven)).explicitAcks).toHaveLength(1);
    return { result, sent: ingest.sent };
  }

  it.each(["vault", "vault_raw"])("a quarantine retry of a %s record loads the same hash as a first-time load", async (stream) => {
    const hashed = await sha256Hex(`${salt}${email}`);
    const key = `again-${stream}-${run}`;
    await consumeWith(strict, [lab(key, stream, secrets())]);
    const [q] = await rows<{ id: number }>("SELECT id FROM _sluice_quarantine WHERE key = ?1", key);

    const { result } = await retryAndLoad(strict, q!.id);
    expect(result).toEqual({ retried: 1, fallbacks: [], skipped: [] });
    expect(await rows(`SELECT email FROM raw_lab__${stream} WHERE _sluice_key = ?1`, key)).toEqual([{ email: hashed }]);
  });

  it.each([
    ["vault", { redacted: true }],
    ["vault_raw", { transformed: true }],
  ])("without its raw object, a %s retry redrives the quarantine copy marked %j, says so and keeps receivedAt", async (stream, mark) => {
    const hashed = await sha256Hex(`${salt}${email}`);
    const key = `fallback-${stream}-${run}`;
    const receivedAt = "2026-03-04T05:06:07.000Z";
    await consumeWith(strict, [recordMessage(key, secrets(), { source: "lab", stream, receivedAt })]);
    const [q] = await rows<{ id: number; r2_key: string }>("SELECT id, r2_key FROM _sluice_quarantine WHERE key = ?1", key);
    await env.RAW.delete(q!.r2_key);

    const { runtime, lines } = withLog(strict);
    const { result, sent } = await retryAndLoad(runtime, q!.id);
    expect(result).toEqual({
      retried: 1,
      fallbacks: [{ id: q!.id, key, reason: `raw object ${q!.r2_key} is missing`, received_at_changed: false }],
      skipped: [],
    });
    expect(sent[0]!.body).toMatchObject({ key, receivedAt, ...mark });
    expect(lines.find((l) => l.event === "quarantine.retry_fallback")).toMatchObject({
      level: "warn",
      id: q!.id,
      key,
      receivedAt,
      receivedAtChanged: false,
    });
    expect(await rows(`SELECT email, _sluice_received_at FROM raw_lab__${stream} WHERE _sluice_key = ?1`, key)).toEqual([
      { email: hashed, _sluice_received_at: receivedAt },
    ]);
  });

  it("a row kept before quarantine stored receipt times is redriven with its quarantine time, logged and listed as such", async () => {
    const key = `pre-upgrade-${run}`;
    const quarantinedAt = "2026-02-03T04:05:06.000Z";
    await env.DB.prepare(
      "INSERT INTO _sluice_quarantine (source, stream, key, load_id, reason, record, quarantined_at) VALUES ('lab', 'vault', ?1, 'ld_old', 'schema: plan: required', ?2, ?3)",
    )
      .bind(key, JSON.stringify({ note: "old", email, password }), quarantinedAt)
      .run();
    const [q] = await rows<{ id: number }>("SELECT id FROM _sluice_quarantine WHERE key = ?1", key);

    const { runtime, lines } = withLog(strict);
    const { result, sent } = await retryAndLoad(runtime, q!.id);
    expect(result.fallbacks).toEqual([{ id: q!.id, key, reason: "the row names no raw-zone line", received_at_changed: true }]);
    expect(lines.find((l) => l.event === "quarantine.retry_fallback")).toMatchObject({
      level: "warn",
      key,
      receivedAt: quarantinedAt,
      receivedAtChanged: true,
    });
    // Kept in clear before this version, so it is redacted and hashed on this load, once.
    expect(sent[0]!.body).not.toHaveProperty("redacted");
    expect(await rows("SELECT email, _sluice_received_at FROM raw_lab__vault WHERE _sluice_key = ?1", key)).toEqual([
      { email: await sha256Hex(`${salt}${email}`), _sluice_received_at: quarantinedAt },
    ]);
  });

  it("leaves a row open, and says why, when neither its raw-zone line nor a whole copy is left", async () => {
    const key = `pointer-${run}`;
    await env.DB.prepare(
      "INSERT INTO _sluice_quarantine (source, stream, key, load_id, r2_key, line, reason, record, record_form, quarantined_at) VALUES ('lab', 'vault', ?1, 'ld_gone', 'raw/lab/vault/gone.ndjson.gz', 1, 'too big', ?2, 'redacted', ?3)",
    )
      .bind(key, JSON.stringify({ $ref: "raw/lab/vault/gone.ndjson.gz#1" }), new Date().toISOString())
      .run();
    const [q] = await rows<{ id: number }>("SELECT id FROM _sluice_quarantine WHERE key = ?1", key);
    const ingest = recordingQueue(env.INGEST);
    const result = await retryQuarantined({ ...strict, env: { ...strict.env, INGEST: ingest.queue } }, { ids: [q!.id], limit: 10 });
    expect(result).toEqual({
      retried: 0,
      fallbacks: [],
      skipped: [{ id: q!.id, key, reason: "raw object raw/lab/vault/gone.ndjson.gz is missing, and quarantine kept only a pointer to it" }],
    });
    expect(ingest.sent).toEqual([]);
    expect(await rows("SELECT status FROM _sluice_quarantine WHERE id = ?1", q!.id)).toEqual([{ status: "open" }]);
  });

  it("keeps a dead letter whole in R2 when its stream hashes fields and no salt is set, and redrives it from there", async () => {
    const unsalted = labRuntime(protectedStreams, { SLUICE_HASH_SALT: "" } as Partial<Env>);
    const key = `unsalted-${run}`;
    const message = { ...lab(key, "vault", secrets({ plan: "pro" })), id: key, attempts: 10 };
    await deadLetter(unsalted, [message]);
    const [letter] = await rows<{ id: number; body: string }>("SELECT id, body FROM _sluice_dead_letters WHERE message_id = ?1", key);
    expect(letter!.body).not.toContain(email);
    expect(JSON.parse(letter!.body)).toMatchObject({ $ref: `dead-letters/sluice-ingest/${key}.json` });

    const recorded = recordingQueue(env.INGEST);
    expect(
      await redriveDeadLetters({ ...unsalted, env: { ...unsalted.env, INGEST: recorded.queue } }, { ids: [letter!.id], limit: 10 }),
    ).toBe(1);
    expect(recorded.sent.map((s) => s.body)).toEqual([message.body]);
  });

  it("a dead letter redriven after redaction loads the same hash as a first-time load", async () => {
    const hashed = await sha256Hex(`${salt}${email}`);
    const key = `dl-again-${run}`;
    await deadLetter(strict, [{ ...lab(key, "vault", secrets({ plan: "pro" })), id: key, attempts: 10 }]);
    const [letter] = await rows<{ body: string }>("SELECT body FROM _sluice_dead_letters WHERE message_id = ?1", key);
    expect(
      (await consumeWith(strict, [{ id: `${key}-redrive`, timestamp: new Date(), attempts: 1, body: JSON.parse(letter!.body) }]))
        .explicitAcks,
    ).toHaveLength(1);
    expect(await rows("SELECT email FROM raw_lab__vault WHERE _sluice_key = ?1", key)).toEqual([{ email: hashed }]);
  });
});

describe("pulled records are not keyed by a field their stream protects", () => {
  const resource = (fields: Record<string, unknown>) =>
    resourceSchema.parse({
      path: "/users",
      schedule: "0 * * * *",
      paginator: { type: "single_page" },
      disposition: "merge",
      primaryKey: ["email"],
      ...fields,
    });

  it("keys by content when the primary key is hashed or redacted, and by the primary key otherwise", () => {
    const record = { email, plan: "pro" };
    expect(naturalKey(resource({}), record)).toBe(email);
    expect(naturalKey(resource({ hash: ["email"] }), record)).toBeUndefined();
    expect(naturalKey(resource({ hash: ["$.email"] }), record)).toBeUndefined();
    expect(naturalKey(resource({ redact: ["email"] }), record)).toBeUndefined();
    // A cursor that is protected is refused by the config itself (see test/config/validation).
    expect(() =>
      resource({ primaryKey: ["plan"], incremental: { cursorField: "email", param: "since", initialValue: "" }, hash: ["$.email"] }),
    ).toThrow("the cursor field email is also in redact or hash");
  });
});

describe("quarantine reasons", () => {
  const card = { number: `4242-${run}-4242`, holder: `holder-${run}` };
  const runtime = labRuntime(
    {
      cards: {
        map: (r: Record<string, unknown>) => {
          const { number } = r.card as { number: string };
          throw new Error(`card ${number} declined; ${"detail ".repeat(1000)}`);
        },
        redact: ["card"],
      },
    },
    { SLUICE_HASH_SALT: salt } as Partial<Env>,
  );

  it("keep no part of a redacted object, and are cut to a readable length", async () => {
    await consumeWith(runtime, [lab("card-1", "cards", { card, note: visible })]);
    const [row] = await rows<{ reason: string }>(
      "SELECT reason FROM _sluice_quarantine WHERE source = 'lab' AND stream = 'cards' AND key = 'card-1'",
    );
    expect(row!.reason.startsWith("transform failed: card [redacted] declined; detail detail")).toBe(true);
    expect(row!.reason).not.toContain(card.number);
    expect(row!.reason.endsWith("… (cut)")).toBe(true);
    expect(row!.reason.length).toBeLessThanOrEqual(2000 + "… (cut)".length);
  });
});
