import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { consumeWith, labRecord as lab, labPullRuntime, labRuntime, rows } from "../support/pipeline.ts";

const columnsOf = async (table: string) =>
  Object.fromEntries(
    (await rows<{ name: string; type: string }>("SELECT name, type FROM pragma_table_info(?1)", table)).map((c) => [c.name, c.type]),
  );

describe("typed tables and schema evolution", () => {
  const runtime = labRuntime({ evolving: {} });

  it("infers typed columns, flattening nested objects and keeping arrays and deep values as JSON", async () => {
    await consumeWith(runtime, [
      lab(
        "ev-1",
        {
          id: 1,
          amount: 9.5,
          paid: true,
          at: "2026-01-02T03:04:05Z",
          customer: { name: "Ada", address: { city: "London", geo: { lat: 1 } } },
          tags: ["a", "b"],
        },
        "evolving",
      ),
    ]);
    expect(await columnsOf("raw_lab__evolving")).toMatchObject({
      _sluice_key: "TEXT",
      id: "INTEGER",
      amount: "REAL",
      paid: "BOOLEAN",
      at: "TIMESTAMP",
      customer__name: "TEXT",
      customer__address__city: "TEXT",
      customer__address__geo: "JSON",
      tags: "JSON",
    });
    const [row] = await rows("SELECT * FROM raw_lab__evolving WHERE _sluice_key = 'ev-1'");
    expect(row).toMatchObject({
      id: 1,
      amount: 9.5,
      paid: 1,
      customer__name: "Ada",
      customer__address__geo: '{"lat":1}',
      tags: '["a","b"]',
    });
    const [version] = await rows<{ version: number; change: string; hash: string }>(
      "SELECT * FROM _sluice_schema_versions WHERE source = 'lab' AND stream = 'evolving' ORDER BY version",
    );
    expect(version!.version).toBe(1);
    expect(version!.change).toContain("added id (integer)");
  });

  it("adds a column for a new field, and records the change as a new schema version", async () => {
    await consumeWith(runtime, [lab("ev-2", { id: 2, coupon: "SAVE10" }, "evolving")]);
    expect((await columnsOf("raw_lab__evolving")).coupon).toBe("TEXT");
    const versions = await rows<{ version: number; change: string }>(
      "SELECT version, change FROM _sluice_schema_versions WHERE source = 'lab' AND stream = 'evolving' ORDER BY version",
    );
    expect(versions.at(-1)).toEqual({ version: 2, change: "added coupon (text)" });
    const [old] = await rows("SELECT coupon FROM raw_lab__evolving WHERE _sluice_key = 'ev-1'");
    expect(old!.coupon).toBeNull();
  });

  it("sends a value its column cannot hold to a variant column <col>__v_<type>", async () => {
    await consumeWith(runtime, [lab("ev-3", { id: "three", amount: 4 }, "evolving")]);
    const columns = await columnsOf("raw_lab__evolving");
    expect(columns.id__v_text).toBe("TEXT");
    const [row] = await rows("SELECT id, id__v_text, amount FROM raw_lab__evolving WHERE _sluice_key = 'ev-3'");
    // An integer widens into the REAL column; the text id goes to the variant.
    expect(row).toEqual({ id: null, id__v_text: "three", amount: 4 });
  });

  it("quarantines records that do not fit a frozen schema, and loads those that do", async () => {
    const frozen = labRuntime({
      frozen: { schema: z.object({ id: z.number().int(), name: z.string() }), contract: "freeze" },
    });
    const result = await consumeWith(frozen, [
      lab("fz-ok", { id: 1, name: "ok" }, "frozen"),
      lab("fz-bad-type", { id: "one", name: "x" }, "frozen"),
      lab("fz-missing", { id: 2 }, "frozen"),
    ]);
    expect(result.explicitAcks).toHaveLength(3);
    expect(await rows("SELECT _sluice_key, id, name FROM raw_lab__frozen")).toEqual([{ _sluice_key: "fz-ok", id: 1, name: "ok" }]);
    const quarantined = await rows<{ key: string; reason: string; line: number; record: string }>(
      "SELECT key, reason, line, record FROM _sluice_quarantine WHERE stream = 'frozen' ORDER BY key",
    );
    expect(quarantined.map((q) => [q.key, q.line])).toEqual([
      ["fz-bad-type", 2],
      ["fz-missing", 3],
    ]);
    expect(quarantined[0]!.reason).toMatch(/^schema: id: /);
    expect(JSON.parse(quarantined[1]!.record)).toEqual({ id: 2 });
  });

  it("freezes inferred columns too: a new field is quarantined, not added", async () => {
    const frozen = labRuntime({ frozen_inferred: { contract: "freeze", schema: z.looseObject({ id: z.number() }) } });
    await consumeWith(frozen, [lab("fi-1", { id: 1 }, "frozen_inferred"), lab("fi-2", { id: 2, extra: "x" }, "frozen_inferred")]);
    expect(Object.keys(await columnsOf("raw_lab__frozen_inferred"))).not.toContain("extra");
    const [q] = await rows<{ reason: string }>("SELECT reason FROM _sluice_quarantine WHERE key = 'fi-2'");
    expect(q!.reason).toBe("field extra is not in the frozen schema");
  });

  it("takes only mapped JSON paths when a stream declares columns", async () => {
    const mapped = labRuntime({ mapped: { columns: { charge_id: "data.object.id", amount: "$.data.object.amount" } } });
    await consumeWith(mapped, [lab("map-1", { data: { object: { id: "ch_1", amount: 500, extra: 1 } } }, "mapped")]);
    expect(await rows("SELECT charge_id, amount FROM raw_lab__mapped")).toEqual([{ charge_id: "ch_1", amount: 500 }]);
    expect(Object.keys(await columnsOf("raw_lab__mapped"))).not.toContain("data__object__extra");
  });
});

describe("write dispositions", () => {
  it("merge: upserts by primary key, and an older record never overwrites a newer one", async () => {
    const runtime = labRuntime({ orders: { disposition: "merge", primaryKey: ["id"], cursor: "updated_at" } });
    await consumeWith(runtime, [lab("o-v2", { id: 7, status: "paid", updated_at: "2026-03-02T00:00:00Z" }, "orders")]);
    // Out of order: the older version arrives after the newer one, then a newer one still.
    await consumeWith(runtime, [lab("o-v1", { id: 7, status: "pending", updated_at: "2026-03-01T00:00:00Z" }, "orders")]);
    expect(await rows("SELECT id, status, _sluice_key FROM raw_lab__orders")).toEqual([{ id: 7, status: "paid", _sluice_key: "o-v2" }]);
    await consumeWith(runtime, [
      lab("o-v3", { id: 7, status: "refunded", updated_at: "2026-03-03T00:00:00Z" }, "orders"),
      lab("o-8", { id: 8, status: "new", updated_at: "2026-03-03T00:00:00Z" }, "orders"),
    ]);
    expect(await rows("SELECT id, status FROM raw_lab__orders ORDER BY id")).toEqual([
      { id: 7, status: "refunded" },
      { id: 8, status: "new" },
    ]);
  });

  it("merge: quarantines a record without its primary key instead of duplicating it", async () => {
    const runtime = labRuntime({ nokey: { disposition: "merge", primaryKey: ["id"] } });
    await consumeWith(runtime, [lab("nk-1", { id: 1, v: 1 }, "nokey"), lab("nk-2", { v: 2 }, "nokey")]);
    expect(await rows("SELECT id FROM raw_lab__nokey")).toEqual([{ id: 1 }]);
    const [q] = await rows<{ reason: string }>("SELECT reason FROM _sluice_quarantine WHERE key = 'nk-2'");
    expect(q!.reason).toBe("primary key column id is empty");
  });

  it("replace: loads go to a staging table and a commit swaps it in whole", async () => {
    const runtime = labPullRuntime({ snapshot: { disposition: "replace" } });
    await consumeWith(runtime, [lab("s1-a", { n: 1 }, "snapshot"), lab("s1-b", { n: 2 }, "snapshot")]);
    const commit = {
      id: "commit-1",
      timestamp: new Date(),
      attempts: 1,
      body: { v: 1, kind: "replace_commit", source: "lab", stream: "snapshot" },
    };
    expect((await consumeWith(runtime, [commit])).explicitAcks).toEqual(["commit-1"]);
    expect(await rows("SELECT n FROM raw_lab__snapshot ORDER BY n")).toEqual([{ n: 1 }, { n: 2 }]);

    // The next full refresh replaces the table; until its commit, readers see the old one.
    await consumeWith(runtime, [lab("s2-a", { n: 10 }, "snapshot")]);
    expect(await rows("SELECT n FROM raw_lab__snapshot ORDER BY n")).toEqual([{ n: 1 }, { n: 2 }]);
    await consumeWith(runtime, [{ ...commit, id: "commit-2" }]);
    expect(await rows("SELECT n FROM raw_lab__snapshot")).toEqual([{ n: 10 }]);
    expect(await rows("SELECT name FROM sqlite_master WHERE name = 'raw_lab__snapshot__staging'")).toEqual([]);
  });
});

describe("transforms in the consumer", () => {
  const users = {
    filter: (r: Record<string, unknown>) => r.test !== true,
    map: (r: Record<string, unknown>) => {
      if (r.explode) throw new Error("cannot map this one");
      return { ...r, name: String(r.name).toUpperCase() };
    },
    redact: ["password"],
    hash: ["email", "profile.phone"],
  };

  it("filters, maps, redacts and hashes before D1, and keeps the original in the raw zone", async () => {
    const runtime = labRuntime({ users }, { SLUICE_HASH_SALT: "pepper" } as Partial<Env>);
    const result = await consumeWith(runtime, [
      lab("u-1", { name: "ada", email: "ada@example.com", password: "hunter2", profile: { phone: "+44" } }, "users"),
      lab("u-test", { name: "bot", test: true }, "users"),
      lab("u-bad", { name: "x", explode: true }, "users"),
    ]);
    expect(result.explicitAcks).toHaveLength(3);
    const [row] = await rows<Record<string, unknown>>("SELECT * FROM raw_lab__users");
    expect(row!.name).toBe("ADA");
    expect(row).not.toHaveProperty("password");
    const expectedHash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("pepperada@example.com")))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    expect(row!.email).toBe(expectedHash);
    expect(row!.profile__phone).toMatch(/^[0-9a-f]{64}$/);

    const [q] = await rows<{ key: string; reason: string }>("SELECT key, reason FROM _sluice_quarantine WHERE stream = 'users'");
    expect(q).toEqual({ key: "u-bad", reason: "transform failed: cannot map this one" });
    const [ledger] = await rows("SELECT records, inserted, quarantined, filtered, duplicates FROM _sluice_loads WHERE stream = 'users'");
    expect(ledger).toEqual({ records: 3, inserted: 1, quarantined: 1, filtered: 1, duplicates: 0 });

    const object = await env.RAW.get(String(row!._sluice_source_object));
    const { gunzip } = await import("../../src/load/raw-zone.ts");
    const raw = (await gunzip(await object!.arrayBuffer()))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(raw[0].payload.password).toBe("hunter2");
  });

  it("stores the transformed record in the raw zone when the stream sets redactRaw", async () => {
    const runtime = labRuntime({ private_users: { ...users, redactRaw: true } }, { SLUICE_HASH_SALT: "pepper" } as Partial<Env>);
    await consumeWith(runtime, [lab("pu-1", { name: "grace", email: "g@example.com", password: "pw" }, "private_users")]);
    const [row] = await rows<{ _sluice_source_object: string }>("SELECT _sluice_source_object FROM raw_lab__private_users");
    const { readRawObject } = await import("../../src/load/raw-zone.ts");
    const [line] = await readRawObject(env.RAW, row!._sluice_source_object);
    expect(line!.transformed).toBe(true);
    expect(line!.payload).not.toHaveProperty("password");
    expect((line!.payload as { email: string }).email).toMatch(/^[0-9a-f]{64}$/);
  });

  it("retries, and loads nothing, when a stream hashes fields but SLUICE_HASH_SALT is unset", async () => {
    const runtime = labRuntime({ unsalted: { hash: ["email"] } }, { SLUICE_HASH_SALT: "" } as Partial<Env>);
    const message = lab("us-1", { email: "e@example.com" }, "unsalted");
    const result = await consumeWith(runtime, [message]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual([message.id]);
    expect(await rows("SELECT name FROM sqlite_master WHERE name = 'raw_lab__unsalted'")).toEqual([]);
  });
});

describe("column cache", () => {
  it("recovers in the same invocation when another isolate changed the table, writing the raw object once", async () => {
    const runtime = labRuntime({ shared: {} });
    await consumeWith(runtime, [lab("sh-1", { a: 1 }, "shared")]);
    // Another isolate adds a column this isolate has not seen.
    await env.DB.prepare('ALTER TABLE raw_lab__shared ADD COLUMN "b" INTEGER').run();
    const before = (await env.RAW.list({ prefix: "raw/lab/shared/" })).objects.length;

    const result = await consumeWith(runtime, [lab("sh-2", { a: 2, b: 3 }, "shared")]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await rows("SELECT _sluice_key, a, b FROM raw_lab__shared ORDER BY _sluice_key")).toEqual([
      { _sluice_key: "sh-1", a: 1, b: null },
      { _sluice_key: "sh-2", a: 2, b: 3 },
    ]);
    expect((await env.RAW.list({ prefix: "raw/lab/shared/" })).objects.length).toBe(before + 1);
  });
});

describe("review regressions", () => {
  it("replace: the swap succeeds while a view reads the table", async () => {
    const runtime = labPullRuntime({ viewed: { disposition: "replace" } });
    const commit = (id: string) => ({
      id,
      timestamp: new Date(),
      attempts: 1,
      body: { v: 1, kind: "replace_commit", source: "lab", stream: "viewed" },
    });
    await consumeWith(runtime, [lab("v1", { n: 1 }, "viewed")]);
    await consumeWith(runtime, [commit("vc-1")]);
    await env.DB.prepare('CREATE VIEW IF NOT EXISTS "stg_viewed" AS SELECT n FROM raw_lab__viewed').run();
    await consumeWith(runtime, [lab("v2", { n: 2 }, "viewed")]);
    expect((await consumeWith(runtime, [commit("vc-2")])).explicitAcks).toEqual(["vc-2"]);
    expect(await rows("SELECT n FROM stg_viewed")).toEqual([{ n: 2 }]);
  });

  it("loads a record whose flattened field names are longer than SQLite identifiers allow", async () => {
    const runtime = labRuntime({ long: {} });
    const part = "x".repeat(70);
    const result = await consumeWith(runtime, [
      lab("long-1", { [part]: { [part]: { [part]: 1 } } }, "long"),
      lab("long-2", { ok: true }, "long"),
    ]);
    expect(result.explicitAcks).toHaveLength(2);
    const columns = (await rows<{ name: string }>("SELECT name FROM pragma_table_info('raw_lab__long')")).map((c) => c.name);
    expect(columns.some((name) => name.length <= 120 && name.startsWith("xxxx"))).toBe(true);
  });

  it("merge: a primary key whose value changes type is quarantined, never duplicated", async () => {
    const runtime = labRuntime({ typed_keys: { disposition: "merge", primaryKey: ["id"] } });
    await consumeWith(runtime, [lab("tk-1", { id: 1, v: "a" }, "typed_keys")]);
    for (let i = 0; i < 3; i++) await consumeWith(runtime, [lab("tk-2", { id: "A-1", v: "b" }, "typed_keys")]);
    expect(await rows("SELECT count(*) AS n FROM raw_lab__typed_keys")).toEqual([{ n: 1 }]);
    const [q] = await rows<{ reason: string }>("SELECT reason FROM _sluice_quarantine WHERE key = 'tk-2' LIMIT 1");
    expect(q!.reason).toBe("primary key column id cannot hold this record's value");
  });
});

describe("redactRaw keeps no original anywhere", () => {
  it("stores dropped and failed records redacted too, and a replay neither loads them nor hashes twice", async () => {
    const stream = {
      redactRaw: true,
      filter: (r: Record<string, unknown>) => r.test !== true,
      map: (r: Record<string, unknown>) => {
        if (r.explode) throw new Error("boom");
        return r;
      },
      redact: ["password"],
      hash: ["email"],
    };
    const runtime = labRuntime({ guarded: stream }, { SLUICE_HASH_SALT: "pepper" } as Partial<Env>);
    await consumeWith(runtime, [
      lab("g-keep", { email: "k@example.com", password: "p1" }, "guarded"),
      lab("g-drop", { email: "d@example.com", password: "p2", test: true }, "guarded"),
      lab("g-fail", { email: "f@example.com", password: "p3", explode: true }, "guarded"),
    ]);
    const [row] = await rows<{ email: string; _sluice_source_object: string }>("SELECT email, _sluice_source_object FROM raw_lab__guarded");
    const { readRawObject } = await import("../../src/load/raw-zone.ts");
    const lines = await readRawObject(env.RAW, row!._sluice_source_object);
    expect(JSON.stringify(lines)).not.toMatch(/p1|p2|p3|@example\.com/);
    expect(lines.map((l) => [l.key, l.transformed ?? false, l.filtered ?? false, l.redacted ?? false])).toEqual([
      ["g-keep", true, false, false],
      ["g-drop", false, true, false],
      ["g-fail", false, false, true],
    ]);
    const [quarantined] = await rows<{ record: string }>("SELECT record FROM _sluice_quarantine WHERE key = 'g-fail'");
    expect(quarantined!.record).not.toContain("p3");

    // Replay the object into an emptied table: the same one row, with the same hash.
    await env.DB.prepare("DELETE FROM raw_lab__guarded").run();
    await consumeWith(runtime, [
      {
        id: "g-replay",
        timestamp: new Date(),
        attempts: 1,
        body: { v: 1, kind: "replay_object", source: "lab", stream: "guarded", r2Key: row!._sluice_source_object },
      },
    ]);
    expect(await rows("SELECT email FROM raw_lab__guarded")).toEqual([{ email: row!.email }]);
  });
});

describe("replace commits arriving out of order", () => {
  it("retries a commit that arrives before its records, and empties the table for a run of zero records", async () => {
    const runtime = labPullRuntime({ refresh: { disposition: "replace" } });
    const since = new Date(Date.now() - 1000).toISOString();
    const commit = (id: string, records: number) => ({
      id,
      timestamp: new Date(),
      attempts: 1,
      body: { v: 1, kind: "replace_commit", source: "lab", stream: "refresh", since, records },
    });

    const early = await consumeWith(runtime, [commit("rc-early", 2)]);
    expect(early.retryMessages.map((m) => m.msgId)).toEqual(["rc-early"]);
    expect(await rows("SELECT count(*) AS n FROM _sluice_dead_letters WHERE message_id = 'rc-early'")).toEqual([{ n: 0 }]);

    await consumeWith(runtime, [lab("rf-1", { n: 1 }, "refresh"), lab("rf-2", { n: 2 }, "refresh")]);
    expect((await consumeWith(runtime, [commit("rc-late", 2)])).explicitAcks).toEqual(["rc-late"]);
    expect(await rows("SELECT n FROM raw_lab__refresh ORDER BY n")).toEqual([{ n: 1 }, { n: 2 }]);

    expect((await consumeWith(runtime, [commit("rc-empty", 0)])).explicitAcks).toEqual(["rc-empty"]);
    expect(await rows("SELECT count(*) AS n FROM raw_lab__refresh")).toEqual([{ n: 0 }]);
  });
});
