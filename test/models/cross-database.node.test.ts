/**
 * dbt's cross-database macros on Node's SQLite (what `npm run build` prepares models against):
 * the same cases and answers as on D1 (test/models/cross-database.test.ts), and the build errors
 * for what has no answer.
 */
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { compileManifest } from "../../src/models/compile/index.ts";
import type { Database } from "../../src/models/context/database.ts";
import { compileCases, queryCases, queryTemplates, scalarCases, scalarQueries } from "../support/cross-database-cases.ts";

const sqlite = new DatabaseSync(":memory:");

/** Node's SQLite behind the part of D1's API that macros reach (run_query reads raw rows). */
const db: Database = {
  prepare: (query) => ({
    bind: () => {
      throw new Error("not used by these macros");
    },
    raw: async <T>() => {
      const statement = sqlite.prepare(query);
      statement.setReturnArrays(true);
      return [statement.columns().map((c) => c.name), ...(statement.all() as T[])] as [string[], ...T[]];
    },
  }),
};

const firstColumn = (sql: string) => {
  const statement = sqlite.prepare(sql);
  statement.setReturnArrays(true);
  return (statement.all() as unknown as unknown[][]).map((row) => row[0]);
};

describe("dbt's cross-database macros on Node's SQLite", async () => {
  const scalars = await compileCases(scalarQueries, db);
  const queries = await compileCases(queryTemplates, db);

  it.each(scalarCases.map(([expression, expected], i) => [expression, expected, i] as const))("%s is %j", (_, expected, i) => {
    expect(firstColumn(scalars[i]!)).toEqual([expected]);
  });

  it.each(queryCases.map(([query, expected], i) => [query, expected, i] as const))("%s gives %j", (_, expected, i) => {
    expect(firstColumn(queries[i]!)).toEqual(expected);
  });
});

const refused: [template: string, message: string][] = [
  [
    "select {{ dbt.date_trunc('fortnight', 'd') }}",
    "date_trunc: Sluice truncates to year, quarter, month, week, day, hour, minute or second, not 'fortnight'",
  ],
  [
    "select {{ dbt.dateadd('decade', 1, 'd') }}",
    "dateadd: Sluice adds years, quarters, months, weeks, days, hours, minutes, seconds or milliseconds, not 'decade'",
  ],
  [
    "select {{ dbt.datediff('a', 'b', 'microsecond') }}",
    "datediff: Sluice counts years, quarters, months, weeks, days, hours, minutes, seconds or milliseconds, not 'microsecond'",
  ],
  ["select {{ dbt.split_part('s', \"','\", 0) }}", "split_part: part_number counts from 1 (or from -1 at the end), not 0"],
  [
    "select {{ dbt.listagg('x', \"','\", 'order by x', 3) }}",
    "listagg: SQLite cannot limit group_concat; Sluice does not support limit_num",
  ],
  ["select {{ dbt.date(2023, 2, 29) }}", "date: 2023-02-29 is not a date"],
  ["{{ dbt.generate_series(dbt.get_powers_of_two(0)) }}", "get_powers_of_two: the upper bound must be positive, not 0"],
];

describe("dbt's cross-database macros refused at build time", () => {
  it.each(refused)("%s fails the build: %s", async (sql, message) => {
    await expect(compileManifest({ project: "cases", sources: {}, models: [{ path: "models/m.sql", sql }] })).rejects.toThrow(message);
  });
});
