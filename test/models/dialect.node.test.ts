/**
 * The SQLite dialect layer: what it translates (exactly, and with the right answer on Node's
 * SQLite), what it leaves alone (strings, quoted identifiers, comments), and what it refuses,
 * with the message and the template line the build reports.
 */
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { SluiceError } from "../../src/lib/errors.ts";
import { compileNode } from "../../src/models/compile-node.ts";
import { toSqlite, translateSql } from "../../src/models/dialect/index.ts";
import { checkD1Limits } from "../../src/models/dialect/limits.ts";
import { manifestSchema } from "../../src/models/manifest-schema.ts";
import { answers } from "../support/dialect-cases.ts";

const iso = "strftime('%Y-%m-%dT%H:%M:%fZ', ";

const translated: [input: string, output: string][] = [
  ["select amount::numeric(16, 2) from t", "select round(CAST(amount AS REAL), 2) from t"],
  ["select amount::numeric(16,0) from t", "select CAST(round(amount) AS INTEGER) from t"],
  ["select x::decimal, y::numeric, z::number from t", "select CAST(x AS REAL), CAST(y AS REAL), CAST(z AS REAL) from t"],
  [
    "select a::int, b::integer, c::bigint, d::smallint",
    "select CAST(a AS INTEGER), CAST(b AS INTEGER), CAST(c AS INTEGER), CAST(d AS INTEGER)",
  ],
  ["select a::float, b::double precision, c::real", "select CAST(a AS REAL), CAST(b AS REAL), CAST(c AS REAL)"],
  ["select a::text, b::varchar(10), c::string", "select CAST(a AS TEXT), substr(CAST(b AS TEXT), 1, 10), CAST(c AS TEXT)"],
  ["select o.created_at::date from o", "select date(o.created_at) from o"],
  ['select "o"."when"::date from o', 'select date("o"."when") from o'],
  ["select created_at::timestamp, b::timestamptz", `select ${iso}created_at), ${iso}b)`],
  ["select a::timestamp with time zone", `select ${iso}a)`],
  ["select payload::json, p::jsonb", "select json(payload), json(p)"],
  ["select (a + b)::int", "select CAST((a + b) AS INTEGER)"],
  ["select coalesce(a, 0)::text", "select CAST(coalesce(a, 0) AS TEXT)"],
  ["select '2024-03-05'::date", "select date('2024-03-05')"],
  ["select 3::text", "select CAST(3 AS TEXT)"],
  ["select a::text::int", "select CAST(CAST(a AS TEXT) AS INTEGER)"],
  ["select -a::int", "select -CAST(a AS INTEGER)"],
  ["select sum(a) over (partition by b)::int", "select CAST(sum(a) over (partition by b) AS INTEGER)"],
  ["select case when a then 1 end::text", "select CAST(case when a then 1 end AS TEXT)"],
  ["select (a::int + 1)::text", "select CAST((CAST(a AS INTEGER) + 1) AS TEXT)"],
  ["select a :: int", "select CAST(a AS INTEGER)"],
  ["select cast(x as date)", "select date(x)"],
  ["select CAST(x AS DATE)", "select date(x)"],
  ["select cast(x as timestamp)", `select ${iso}x)`],
  ["select cast(x as numeric(16, 2))", "select round(CAST(x AS REAL), 2)"],
  ["select cast(x as varchar(5)), cast(y as string)", "select substr(CAST(x AS TEXT), 1, 5), CAST(y AS TEXT)"],
  ["select cast(x as int64), cast(y as float64)", "select CAST(x AS INTEGER), CAST(y AS REAL)"],
  ["select cast(a::text as date)", "select date(CAST(a AS TEXT))"],
  ["select cast(cast(a as text) as int)", "select CAST(CAST(a AS TEXT) AS INTEGER)"],
  ["select * from t where name ilike '%a%' and b not ilike 'x'", "select * from t where name like '%a%' and b not like 'x'"],
  ["select * from t where name ILIKE 'A'", "select * from t where name LIKE 'A'"],
  ["select date '2024-03-05', timestamp '2024-03-05 01:02'", `select date('2024-03-05'), ${iso}'2024-03-05 01:02')`],
  ["select now()", `select ${iso}'now')`],
  ["select date_trunc('month', created_at)", "select strftime('%Y-%m-01T00:00:00.000Z', created_at)"],
  ["select date_trunc('week', d)", "select strftime('%Y-%m-%dT00:00:00.000Z', d, 'weekday 0', '-6 days')"],
  // True division: `*` and `/` share a precedence, so every operand stays where it was.
  ["select (amount / 100)::numeric(16, 2) from t", "select round(CAST((amount * 1.0 / 100) AS REAL), 2) from t"],
  ["select a/b/c, -a / b, x::int / 2 from t", "select a * 1.0 /b * 1.0 /c, -a * 1.0 / b, CAST(x AS INTEGER) * 1.0 / 2 from t"],
  ["select power(2, x), log10(y) from t", "select pow(2, x), log(y) from t"],
  // A CTE named after the table it reads: the table is qualified, which SQLite never matches to a CTE.
  [
    'with order_items as (select * from "order_items"), b as (select * from order_items) select * from b',
    'with order_items as (select * from main."order_items"), b as (select * from order_items) select * from b',
  ],
  [
    "select * from (with t as (select * from t join u on u.id = t.id) select * from t)",
    "select * from (with t as (select * from main.t join u on u.id = t.id) select * from t)",
  ],
  [
    "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r",
    "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r",
  ],
  // Left alone: SQLite already means the same.
  [
    "select true, false, current_date, nullif(a, 0), coalesce(a, b) from t",
    "select true, false, current_date, nullif(a, 0), coalesce(a, b) from t",
  ],
  ["select a ->> '$.b', a || b, a like 'x' from t", "select a ->> '$.b', a || b, a like 'x' from t"],
  // Strings, quoted identifiers and comments are untouched.
  ["select 'a::int', 'it''s ilike', \"b::date\" from t", "select 'a::int', 'it''s ilike', \"b::date\" from t"],
  [
    "select x -- x::int and qualify\nfrom t /* ilike cast(x as date) */",
    "select x -- x::int and qualify\nfrom t /* ilike cast(x as date) */",
  ],
  ["select `a::int`, t.qualify, 'x:y' from t", "select `a::int`, t.qualify, 'x:y' from t"],
  ["select strftime('%Y/%m', d) -- a/b\nfrom t /* c/d */", "select strftime('%Y/%m', d) -- a/b\nfrom t /* c/d */"],
];

describe("the SQLite dialect layer", () => {
  it.each(translated)("translates %j", (input, output) => {
    expect(translateSql(input)).toEqual({ sql: output, refusals: [] });
  });

  it.each(answers)("%s gives the right answer on SQLite", (expression, expected) => {
    const db = new DatabaseSync(":memory:");
    const { sql, refusals } = translateSql(`select ${expression} as v`);
    expect(refusals).toEqual([]);
    expect((db.prepare(sql).get() as { v: unknown }).v).toEqual(expected);
    db.close();
  });

  it("shows why cast(x as date) is translated: SQLite's own CAST gives the year", () => {
    const db = new DatabaseSync(":memory:");
    expect(db.prepare("select CAST('2024-03-05' AS date) as v").get()).toEqual({ v: 2024 });
    db.close();
  });
});

const hint = {
  interval: "SQLite has no intervals: shift a date or time with modifiers, date(x, '+1 day') or datetime(x, '-3 hours')",
  type: "cast to int, numeric, float, text, boolean, date, timestamp or json instead",
  regex: "SQLite has no regular expressions; use like or glob",
  lateral: "SQLite has no lateral joins; json_each(column) and json_tree(column) are table functions that read a row's JSON",
};

const refused: [template: string, message: string][] = [
  ["select a,\n  b::interval\nfrom t", `models/x.sql:2: ::interval has no SQLite translation; ${hint.interval}`],
  ["select now() - interval '1 day'", `models/x.sql:1: interval has no SQLite translation; ${hint.interval}`],
  ["select\n'x'::regclass", `models/x.sql:2: ::regclass has no SQLite translation; ${hint.type}`],
  ["select a::int[]", `models/x.sql:1: ::int[] has no SQLite translation; ${hint.type}`],
  ["select a::uuid", `models/x.sql:1: ::uuid has no SQLite translation; ${hint.type}`],
  ["select\n  cast(a as interval)", `models/x.sql:2: cast(… as interval) has no SQLite translation; ${hint.type}`],
  [
    "select *\nfrom t\nqualify row_number() over (partition by a) = 1",
    "models/x.sql:3: qualify has no SQLite translation; filter on the window function in an outer query: " +
      "select * from (select …, row_number() over (…) as rn …) where rn = 1",
  ],
  ["select *\nfrom t,\n  lateral (select 1) l", `models/x.sql:3: lateral has no SQLite translation; ${hint.lateral}`],
  ["select * from t, lateral flatten(input => t.a)", `models/x.sql:1: lateral has no SQLite translation; ${hint.lateral}`],
  [
    "select *\nfrom t where a ilike any ('a%', 'b%')",
    "models/x.sql:2: ilike any has no SQLite translation; write one like per pattern, joined with or",
  ],
  [
    "select * from t where a like all ('a%')",
    "models/x.sql:1: like all has no SQLite translation; write one like per pattern, joined with or",
  ],
  [
    "select payload:customer.name from t",
    "models/x.sql:1: Snowflake's : path access has no SQLite translation; read JSON with json_extract(column, '$.path') or column ->> '$.path'",
  ],
  [
    "select distinct on (a) a, b from t",
    "models/x.sql:1: distinct on has no SQLite translation; number the rows with row_number() over (partition by …) in a subquery and keep rn = 1",
  ],
  ["select * from t where a ~* 'x'", `models/x.sql:1: ~* has no SQLite translation; ${hint.regex}`],
  ["select * from t where a ~ 'x'", `models/x.sql:1: ~ has no SQLite translation; ${hint.regex}`],
  ["select * from t where a similar to 'x'", `models/x.sql:1: similar to has no SQLite translation; ${hint.regex}`],
  ["select * from t where a rlike 'x'", `models/x.sql:1: rlike has no SQLite translation; ${hint.regex}`],
  [
    "select a at time zone 'UTC' from t",
    "models/x.sql:1: at time zone has no SQLite translation; SQLite has no time zones; Sluice stores timestamps in UTC",
  ],
  [
    "select try_cast(a as int) from t",
    "models/x.sql:1: try_cast() has no SQLite translation; SQLite's cast never fails (text that is not a number becomes 0); " +
      "test the value with typeof() or glob first",
  ],
  [
    "select * from t pivot (sum(a) for b in ('x'))",
    "models/x.sql:1: pivot has no SQLite translation; write one aggregate per value: sum(case when … then … end)",
  ],
  [
    "select date_trunc('quarter', d) from t",
    "models/x.sql:1: date_trunc(…) has no SQLite translation; date_trunc('<unit>', x) is translated for second, minute, hour, day, week, " +
      "month and year; use strftime for others",
  ],
  [
    "select a[1] from t",
    "models/x.sql:1: arrays ([…]) has no SQLite translation; SQLite has no arrays; keep lists as JSON (json_array, json_each, json_extract)",
  ],
];

describe("constructs with no SQLite translation", () => {
  it.each(refused)("refuses %j", (template, message) => {
    const node = { path: "models/x.sql", rawSql: template };
    expect(() => toSqlite(node, template)).toThrow(SluiceError);
    expect(() => toSqlite(node, template)).toThrow(message);
    try {
      toSqlite(node, template);
    } catch (error) {
      expect((error as Error).message).toBe(message);
    }
  });

  it("names each refusal once, in order, on the line of the template that wrote it", () => {
    const template = "-- two of them\nselect a::interval,\n{{ 'x' }} as b\nfrom t\nqualify b = 1";
    const rendered = "-- two of them\nselect a::interval,\n'x' as b\nfrom t\nqualify b = 1";
    expect(() => toSqlite({ path: "models/x.sql", rawSql: template }, rendered)).toThrow(
      `models/x.sql:2: ::interval has no SQLite translation; ${hint.interval}\nmodels/x.sql:5: qualify has no SQLite translation;`,
    );
  });

  it("places a construct Jinja wrote after the nearest literal text before it", () => {
    const template = "select a,\n  {{ macro_output() }}\nfrom t";
    const rendered = "select a,\n  b::interval\nfrom t";
    expect(() => toSqlite({ path: "models/x.sql", rawSql: template }, rendered)).toThrow(/^models\/x\.sql:2: ::interval has no/);
  });
});

describe("D1's limits on a statement", () => {
  it("finds a function called with more than 32 arguments, a like pattern over 50 bytes and a statement over 100 KB", () => {
    const args = Array.from({ length: 33 }, (_, i) => i).join(", ");
    expect(checkD1Limits(`select coalesce(${args}) from t where a in (${args})`).map((p) => p.message)).toEqual([
      "coalesce() is called with 33 arguments; D1 allows at most 32",
    ]);
    expect(checkD1Limits(`select 1 where a like '${"x".repeat(51)}'`).map((p) => p.message)).toEqual([
      "a like pattern of 51 bytes; D1 allows at most 50",
    ]);
    expect(checkD1Limits(`select '${"x".repeat(100_000)}'`).map((p) => p.message)).toEqual([
      "the compiled SQL is 100009 bytes; D1 runs statements of at most 100000 bytes",
    ]);
    expect(checkD1Limits(`select ${Array.from({ length: 101 }, () => "?").join(", ")}`).map((p) => p.message)).toEqual([
      "the compiled SQL has 101 bound parameters; D1 binds at most 100 per statement",
    ]);
    expect(checkD1Limits(`select coalesce(${args.split(", ").slice(0, 32).join(", ")})`)).toEqual([]);
  });
});

describe("compileNode, as the Worker runs it", () => {
  const manifest = (rawSql: string) =>
    manifestSchema.parse({
      version: 2,
      project: "p",
      generatedAt: "2024-03-05T00:00:00.000Z",
      nodes: [
        {
          uniqueId: "model.p.x",
          resourceType: "model",
          name: "x",
          relation: "x",
          path: "models/x.sql",
          rawSql,
          config: {},
          dependsOn: { nodes: [], sources: [] },
        },
      ],
    });

  it("translates the rendered SQL", async () => {
    const m = manifest("select {{ 'created_at' }}::date as day from t where name ilike 'a%'");
    expect(await compileNode(m, m.nodes[0]!)).toBe("select date(created_at) as day from t where name like 'a%'");
  });

  it("throws what has no translation as a model failure naming file and line", async () => {
    const m = manifest("select *\nfrom t\nqualify row_number() over (partition by a) = 1");
    await expect(() => compileNode(m, m.nodes[0]!)).rejects.toThrow(expect.objectContaining({ code: "model_failed" }));
    await expect(() => compileNode(m, m.nodes[0]!)).rejects.toThrow(/^models\/x\.sql:3: qualify has no SQLite translation;/);
  });
});
