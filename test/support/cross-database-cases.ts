/**
 * dbt's cross-database macros, called as projects call them (`{{ dbt.dateadd('day', 3, "'2024-01-30'") }}`:
 * SQL text as arguments), and the answer each must give. Shared by the test on workerd's D1
 * (test/models/cross-database.test.ts) and the one on Node's SQLite (cross-database.node.test.ts).
 * The answer is Postgres' (or Snowflake's, where dbt follows Snowflake), except where a row's
 * comment names one of the differences the README lists.
 */
import { compileManifest } from "../../src/models/compile/index.ts";
import { compileNode } from "../../src/models/compile-node.ts";
import type { Database } from "../../src/models/context/database.ts";

const ts = (text: string) => `${text}.000Z`;

/** `select <expression> as v` gives one row whose v is the answer. */
export const scalarCases: [expression: string, expected: unknown][] = [
  // Types: what each names, and what a cast to it gives through the dialect layer.
  [
    "'{{ dbt.type_string() }} {{ dbt.type_timestamp() }} {{ dbt.type_int() }} {{ dbt.type_bigint() }} {{ dbt.type_float() }} {{ dbt.type_numeric() }} {{ dbt.type_boolean() }}'",
    "text timestamp integer integer real numeric boolean",
  ],
  ["typeof(cast(42 as {{ dbt.type_string() }}))", "text"],
  ["cast('2024-03-05 10:11:12' as {{ dbt.type_timestamp() }})", ts("2024-03-05T10:11:12")],
  ["cast('42' as {{ dbt.type_int() }}) + 1", 43],
  ["cast('4294967296' as {{ dbt.type_bigint() }})", 4294967296],
  ["cast('1.5' as {{ dbt.type_float() }}) * 2", 3],
  ["cast('7' as {{ dbt.type_numeric() }}) / 2", 3.5],
  ["cast('true' as {{ dbt.type_boolean() }})", 1],
  // cast and safe_cast
  ["{{ dbt.cast(\"'2024-03-05T23:59:59Z'\", 'date') }}", "2024-03-05"],
  ["{{ dbt.cast(\"'7'\", dbt.type_int()) }} + 1", 8],
  ["{{ dbt.cast(\"'2024-03-05'\", dbt.type_timestamp()) }}", ts("2024-03-05T00:00:00")],
  ["{{ dbt.safe_cast(\"'12'\", dbt.type_int()) }}", 12],
  // Difference: SQLite's cast never fails; text that is not a number casts to 0, not null.
  ["{{ dbt.safe_cast(\"'abc'\", dbt.type_int()) }}", 0],
  // date_trunc: weeks start on Monday; a date truncates like a timestamp.
  ["{{ dbt.date_trunc('week', \"'2024-01-03'\") }}", ts("2024-01-01T00:00:00")],
  ["{{ dbt.date_trunc('week', \"'2024-01-07T23:00:00Z'\") }}", ts("2024-01-01T00:00:00")],
  ["{{ dbt.date_trunc('week', \"'2024-01-08'\") }}", ts("2024-01-08T00:00:00")],
  ["{{ dbt.date_trunc('quarter', \"'2024-05-17T10:00:00Z'\") }}", ts("2024-04-01T00:00:00")],
  ["{{ dbt.date_trunc('quarter', \"'2024-12-31'\") }}", ts("2024-10-01T00:00:00")],
  ["{{ dbt.date_trunc('quarter', \"'2024-01-01'\") }}", ts("2024-01-01T00:00:00")],
  ["{{ dbt.date_trunc('quarter', 'null') }}", null],
  ["{{ dbt.date_trunc('year', \"'2024-05-17 10:00:00'\") }}", ts("2024-01-01T00:00:00")],
  ["{{ dbt.date_trunc('month', \"'2024-05-17T10:11:12.345Z'\") }}", ts("2024-05-01T00:00:00")],
  ["{{ dbt.date_trunc('month', \"date('2024-05-17')\") }}", ts("2024-05-01T00:00:00")],
  ["{{ dbt.date_trunc('day', \"'2024-05-17T10:11:12.345Z'\") }}", ts("2024-05-17T00:00:00")],
  ["{{ dbt.date_trunc('hour', \"'2024-05-17T10:11:12.345Z'\") }}", ts("2024-05-17T10:00:00")],
  ["{{ dbt.date_trunc('minute', \"'2024-05-17T10:11:12.345Z'\") }}", ts("2024-05-17T10:11:00")],
  ["{{ dbt.date_trunc('second', \"'2024-05-17T10:11:12.345Z'\") }}", ts("2024-05-17T10:11:12")],
  // dateadd: months keep to the month's last day, as in Postgres and Snowflake.
  ["{{ dbt.dateadd('day', 3, \"'2024-01-30'\") }}", ts("2024-02-02T00:00:00")],
  ["{{ dbt.dateadd('day', -31, \"'2024-03-01'\") }}", ts("2024-01-30T00:00:00")],
  ["{{ dbt.dateadd('day', '1 + 1', \"'2024-01-01'\") }}", ts("2024-01-03T00:00:00")],
  ["{{ dbt.dateadd('week', 2, \"'2024-01-30'\") }}", ts("2024-02-13T00:00:00")],
  ["{{ dbt.dateadd('month', 1, \"'2024-01-31'\") }}", ts("2024-02-29T00:00:00")],
  ["{{ dbt.dateadd('month', -1, \"'2024-03-31'\") }}", ts("2024-02-29T00:00:00")],
  ["{{ dbt.dateadd('month', 1, \"'2024-01-15T10:30:00Z'\") }}", ts("2024-02-15T10:30:00")],
  ["{{ dbt.dateadd('month', 1, \"'2024-01-31T10:30:00.250Z'\") }}", "2024-02-29T10:30:00.250Z"],
  ["{{ dbt.dateadd('month', 13, \"'2023-12-31'\") }}", ts("2025-01-31T00:00:00")],
  ["{{ dbt.dateadd('quarter', 1, \"'2024-11-30'\") }}", ts("2025-02-28T00:00:00")],
  ["{{ dbt.dateadd('year', 1, \"'2024-02-29'\") }}", ts("2025-02-28T00:00:00")],
  ["{{ dbt.dateadd('year', -4, \"'2024-02-29'\") }}", ts("2020-02-29T00:00:00")],
  ["{{ dbt.dateadd('hour', 5, \"'2024-01-31T22:00:00Z'\") }}", ts("2024-02-01T03:00:00")],
  ["{{ dbt.dateadd('minute', -90, \"'2024-01-01 00:30:00'\") }}", ts("2023-12-31T23:00:00")],
  ["{{ dbt.dateadd('second', 30, \"'2024-01-01T00:00:45Z'\") }}", ts("2024-01-01T00:01:15")],
  ["{{ dbt.dateadd('millisecond', 1500, \"'2024-01-01T00:00:00.000Z'\") }}", "2024-01-01T00:00:01.500Z"],
  ["{{ dbt.dateadd('day', 1, 'null') }}", null],
  // datediff: boundaries crossed, as Snowflake and dbt count them.
  ["{{ dbt.datediff(\"'2024-01-01'\", \"'2024-03-15'\", 'month') }}", 2],
  ["{{ dbt.datediff(\"'2024-03-15'\", \"'2024-01-01'\", 'month') }}", -2],
  ["{{ dbt.datediff(\"'2023-12-31'\", \"'2024-01-01'\", 'year') }}", 1],
  ["{{ dbt.datediff(\"'2024-01-01'\", \"'2024-12-31'\", 'year') }}", 0],
  ["{{ dbt.datediff(\"'2023-12-31'\", \"'2024-01-01'\", 'quarter') }}", 1],
  ["{{ dbt.datediff(\"'2024-01-01'\", \"'2024-12-31'\", 'quarter') }}", 3],
  ["{{ dbt.datediff(\"'2023-12-31'\", \"'2024-01-01'\", 'month') }}", 1],
  ["{{ dbt.datediff(\"'2023-12-31'\", \"'2024-01-01'\", 'week') }}", 1],
  ["{{ dbt.datediff(\"'2024-01-01'\", \"'2024-01-07'\", 'week') }}", 0],
  ["{{ dbt.datediff(\"'2024-01-07'\", \"'2024-01-22'\", 'week') }}", 3],
  ["{{ dbt.datediff(\"'2023-12-31'\", \"'2024-01-01'\", 'day') }}", 1],
  ["{{ dbt.datediff(\"'2024-01-01T23:00:00Z'\", \"'2024-01-02T01:00:00Z'\", 'day') }}", 1],
  ["{{ dbt.datediff(\"'2024-03-01'\", \"'2024-02-01'\", 'day') }}", -29],
  ["{{ dbt.datediff(\"'2023-12-31T23:59:59Z'\", \"'2024-01-01T00:00:00Z'\", 'hour') }}", 1],
  ["{{ dbt.datediff(\"'2023-12-31T23:59:59Z'\", \"'2024-01-01T00:00:00Z'\", 'minute') }}", 1],
  ["{{ dbt.datediff(\"'2023-12-31T23:59:59Z'\", \"'2024-01-01T00:00:00Z'\", 'second') }}", 1],
  ["{{ dbt.datediff(\"'2024-01-01T10:59:00Z'\", \"'2024-01-01T11:01:00Z'\", 'hour') }}", 1],
  ["{{ dbt.datediff(\"'2024-01-01 10:59:30'\", \"'2024-01-01 11:01:10'\", 'minute') }}", 2],
  ["{{ dbt.datediff(\"'2024-01-01T00:00:00.000Z'\", \"'2024-01-01T00:00:01.250Z'\", 'millisecond') }}", 1250],
  ["{{ dbt.get_intervals_between(\"'2024-01-01'\", \"'2024-03-15'\", 'month') }}", 2],
  // last_day: a date.
  ["{{ dbt.last_day(\"'2024-02-10'\", 'month') }}", "2024-02-29"],
  ["{{ dbt.last_day(\"'2023-02-10'\", 'month') }}", "2023-02-28"],
  ["{{ dbt.last_day(\"'2024-11-30T23:00:00Z'\", 'month') }}", "2024-11-30"],
  ["{{ dbt.last_day(\"'2024-05-17'\", 'quarter') }}", "2024-06-30"],
  ["{{ dbt.last_day(\"'2024-12-31'\", 'quarter') }}", "2024-12-31"],
  ["{{ dbt.last_day(\"'2024-05-17'\", 'year') }}", "2024-12-31"],
  ["{{ dbt.last_day(\"'2024-01-03'\", 'week') }}", "2024-01-07"],
  ["{{ dbt.date(2024, 2, 29) }}", "2024-02-29"],
  // current_timestamp and its dbt variants: Sluice's ISO 8601 UTC form, now.
  [
    "length({{ dbt.current_timestamp() }}) = 24 and strftime('%Y-%m-%dT%H:%M:%fZ', {{ dbt.current_timestamp() }}) = {{ dbt.current_timestamp() }}",
    1,
  ],
  ["abs(unixepoch({{ dbt.current_timestamp() }}) - unixepoch('now')) <= 1", 1],
  [
    "{{ dbt.current_timestamp_backcompat() }} = {{ dbt.current_timestamp() }} and {{ dbt.current_timestamp_in_utc_backcompat() }} = {{ dbt.snapshot_get_time() }}",
    1,
  ],
  // hash: the text's bytes in hex; equal inputs, equal hashes; distinct inputs, distinct hashes.
  ["{{ dbt.hash(\"'abc'\") }}", "616263"],
  ["{{ dbt.hash(\"'é'\") }}", "c3a9"],
  ["{{ dbt.hash(\"'a' || 'bc'\") }} = {{ dbt.hash(\"'abc'\") }}", 1],
  ["{{ dbt.hash('42') }} = {{ dbt.hash(\"'42'\") }}", 1],
  ["{{ dbt.hash(\"'ab'\") }} <> {{ dbt.hash(\"'abc'\") }} and {{ dbt.hash(\"'ab'\") }} <> {{ dbt.hash(\"'ba'\") }}", 1],
  ["{{ dbt.hash(\"''\") }}", ""],
  ["{{ dbt.hash('null') }}", null],
  // concat: || as dbt's default__concat, so a null part makes the whole null (as in Postgres and Snowflake).
  ["{{ dbt.concat([\"'a'\", \"'-'\", '1']) }}", "a-1"],
  ["{{ dbt.concat([\"'a'\", 'null']) }}", null],
  // split_part, as Postgres'.
  ["{{ dbt.split_part(\"'a,b,c'\", \"','\", 1) }}", "a"],
  ["{{ dbt.split_part(\"'a,b,c'\", \"','\", 3) }}", "c"],
  ["{{ dbt.split_part(\"'a,b,c'\", \"','\", 4) }}", ""],
  ["{{ dbt.split_part(\"'a,b,c'\", \"','\", -1) }}", "c"],
  ["{{ dbt.split_part(\"'a,b,c'\", \"','\", -3) }}", "a"],
  ["{{ dbt.split_part(\"'a,b,c'\", \"','\", -4) }}", ""],
  ["{{ dbt.split_part(\"'a,b,c'\", \"','\", '1 + 1') }}", "b"],
  ["{{ dbt.split_part(\"'a--b--c'\", \"'--'\", 2) }}", "b"],
  ["{{ dbt.split_part(\"'a,,b,'\", \"','\", 2) }}", ""],
  ["{{ dbt.split_part(\"'a,,b,'\", \"','\", -1) }}", ""],
  ["{{ dbt.split_part(\"'abc'\", \"','\", 1) }}", "abc"],
  ["{{ dbt.split_part(\"''\", \"','\", 1) }}", ""],
  ["{{ dbt.split_part('null', \"','\", 1) }}", null],
  [`{{ dbt.split_part("'say \\"hi\\", it''s'", "','", 1) }}`, 'say "hi"'],
  [`{{ dbt.split_part("'say \\"hi\\", it''s'", "','", 2) }}`, " it's"],
  ["{{ dbt.split_part(\"'a''b''c'\", \"''''\", 2) }}", "b"],
  ["{{ dbt.split_part(\"'a\\\\b\\\\c'\", \"'\\\\'\", -1) }}", "c"],
  ["{{ dbt.split_part(\"'a' || char(10) || 'nb'\", \"'n'\", 2) }}", "b"],
  // Aggregates.
  ["(select {{ dbt.listagg('x') }} from (select 'b' as x union all select 'a' union all select 'c'))", "b,a,c"],
  [
    "(select {{ dbt.listagg('x', \"' | '\", 'order by x desc') }} from (select 'b' as x union all select 'a' union all select 'c'))",
    "c | b | a",
  ],
  ["(select {{ dbt.listagg('x', \"''\", 'order by x') }} from (select 'b' as x union all select 'a'))", "ab"],
  ["(select {{ dbt.any_value('x') }} from (select 3 as x union all select 1))", 1],
  ["(select {{ dbt.bool_or('x > 2') }} from (select 3 as x union all select 1))", 1],
  ["(select {{ dbt.bool_or('x > 5') }} from (select 3 as x union all select 1))", 0],
  ["(select {{ dbt.bool_or('x > 5') }} from (select null as x))", null],
  // Strings.
  ["{{ dbt.replace(\"'a-b-c'\", \"'-'\", \"'+'\") }}", "a+b+c"],
  ["{{ dbt.length(\"'héllo'\") }}", 5],
  ["{{ dbt.position(\"'lo'\", \"'hello'\") }}", 4],
  ["{{ dbt.position(\"'x'\", \"'hello'\") }}", 0],
  ["{{ dbt.right(\"'abcdef'\", 2) }}", "ef"],
  ["{{ dbt.right(\"'abcdef'\", 0) }}", ""],
  ["{{ dbt.right(\"'abcdef'\", 10) }}", "abcdef"],
  ["{{ dbt.right(\"'abcdef'\", -2) }}", "cdef"],
  ["{{ dbt.right('null', 2) }}", null],
  ["'{{ dbt.escape_single_quotes(\"it's 'here'\") }}'", "it's 'here'"],
  ['{{ dbt.string_literal("it\'s") }}', "it's"],
  ["{{ dbt.string_literal('plain') }}", "plain"],
  ["{{ dbt.cast_bool_to_text('1 = 1') }}", "true"],
  ["{{ dbt.cast_bool_to_text('1 = 0') }}", "false"],
  ["{{ dbt.cast_bool_to_text(\"cast('f' as boolean)\") }}", "false"],
  ["{{ dbt.cast_bool_to_text('null') }}", null],
  // Set operators and null-safe equality.
  ["(select count(*) from (select 1 union select 2 {{ dbt.except() }} select 2))", 1],
  ["(select count(*) from (select 1 union select 2 {{ dbt.intersect() }} select 2))", 1],
  ["{{ dbt.equals('null', 'null') }}", 1],
  ["{{ dbt.equals('1', 'null') }}", 0],
  ["{{ dbt.equals(\"'a'\", \"'a'\") }}", 1],
  // generate_series' helper: the smallest n with 2^n >= the bound.
  [
    "'{{ dbt.get_powers_of_two(1) }} {{ dbt.get_powers_of_two(5) }} {{ dbt.get_powers_of_two(8) }} {{ dbt.get_powers_of_two(9) }}'",
    "1 3 3 4",
  ],
  // Arrays are JSON arrays.
  ["{{ dbt.array_construct(['1', '2', '3']) }}", "[1,2,3]"],
  ["{{ dbt.array_construct([\"'a'\", \"'b'\"]) }}", '["a","b"]'],
  ["{{ dbt.array_construct([]) }}", "[]"],
  ["{{ dbt.array_append(dbt.array_construct(['1', '2']), '3') }}", "[1,2,3]"],
  ["{{ dbt.array_append(dbt.array_construct([]), \"'x'\") }}", '["x"]'],
  ["{{ dbt.array_concat(dbt.array_construct(['1', '2']), dbt.array_construct(['3', '4'])) }}", "[1,2,3,4]"],
  ["{{ dbt.array_concat(dbt.array_construct([]), dbt.array_construct(['3'])) }}", "[3]"],
  ['{{ dbt.array_concat("\'[\\"b\\", 2]\'", dbt.array_construct([])) }}', '["b",2]'],
  ["{{ dbt.array_size(dbt.array_construct(['1', '2', '3'])) }}", 3],
  ["{{ dbt.array_size(dbt.array_construct([])) }}", 0],
];

/** A query of its own; the answer is its first column, row by row. */
export const queryCases: [query: string, expected: unknown[]][] = [
  ["{{ dbt.generate_series(5) }}", [1, 2, 3, 4, 5]],
  ["{{ dbt.generate_series(0) }}", []],
  [
    "{{ dbt.date_spine('day', \"'2024-01-30'\", \"'2024-02-02'\") }}",
    [ts("2024-01-30T00:00:00"), ts("2024-01-31T00:00:00"), ts("2024-02-01T00:00:00")],
  ],
  [
    "{{ dbt.date_spine('week', \"'2024-01-01'\", \"'2024-01-22'\") }}",
    ["2024-01-01", "2024-01-08", "2024-01-15"].map((d) => ts(`${d}T00:00:00`)),
  ],
  [
    "{{ dbt.date_spine('month', \"'2024-01-31'\", \"'2024-05-01'\") }}",
    ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"].map((d) => ts(`${d}T00:00:00`)),
  ],
  ["{{ dbt.date_spine('day', \"'2024-01-30'\", \"'2024-01-30'\") }}", []],
  [
    "select * from ({{ dbt.date_spine('month', \"'2024-01-15'\", \"'2024-03-20'\") }})",
    [ts("2024-01-15T00:00:00"), ts("2024-02-15T00:00:00")],
  ],
];

/** Each template compiled as its own model of one project, through the compile and the run's render (with D1 reachable). */
export async function compileCases(templates: readonly string[], db: Database): Promise<string[]> {
  const models = templates.map((sql, i) => ({ path: `models/case_${i}.sql`, sql }));
  const manifest = await compileManifest({ project: "cases", sources: {}, models });
  return Promise.all(models.map((_, i) => compileNode(manifest, manifest.nodes.find((n) => n.name === `case_${i}`)!, { db })));
}

export const scalarQueries = scalarCases.map(([expression]) => `select ${expression} as v`);
export const queryTemplates = queryCases.map(([query]) => query);
