/**
 * dbt's cross-database macros (`dbt.dateadd`, `dbt.split_part`, …) on D1 itself: each case of
 * test/support/cross-database-cases.ts is compiled as a model, the way a project calls the macro,
 * and run on workerd's D1, which must give the answer in the table.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { compileCases, queryCases, queryTemplates, scalarCases, scalarQueries } from "../support/cross-database-cases.ts";

const firstColumn = async (sql: string) => {
  const [, ...rows] = await env.DB.prepare(sql).raw({ columnNames: true });
  return rows.map((row) => row[0]);
};

describe("dbt's cross-database macros on D1", async () => {
  const scalars = await compileCases(scalarQueries, env.DB);
  const queries = await compileCases(queryTemplates, env.DB);

  it.each(scalarCases.map(([expression, expected], i) => [expression, expected, i] as const))("%s is %j", async (_, expected, i) => {
    expect(await firstColumn(scalars[i]!)).toEqual([expected]);
  });

  it.each(queryCases.map(([query, expected], i) => [query, expected, i] as const))("%s gives %j", async (_, expected, i) => {
    expect(await firstColumn(queries[i]!)).toEqual(expected);
  });
});
