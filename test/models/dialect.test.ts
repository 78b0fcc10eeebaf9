/**
 * The dialect layer's translations give the right answer in D1 itself (workerd's local D1), not
 * only in Node's SQLite: the same rows as test/models/dialect.node.test.ts.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { translateSql } from "../../src/models/dialect/index.ts";
import { answers } from "../support/dialect-cases.ts";

describe("translated SQL on D1", () => {
  it.each(answers)("%s gives the right answer on D1", async (expression, expected) => {
    const { sql, refusals } = translateSql(`select ${expression} as v`);
    expect(refusals).toEqual([]);
    expect(await env.DB.prepare(sql).first("v")).toEqual(expected);
  });

  it("cast('2024-03-05' as date) is the date; D1's own CAST would give the year", async () => {
    expect(await env.DB.prepare(translateSql("select cast('2024-03-05' as date) as v").sql).first("v")).toBe("2024-03-05");
    expect(await env.DB.prepare("select CAST('2024-03-05' AS date) as v").first("v")).toBe(2024);
  });
});
