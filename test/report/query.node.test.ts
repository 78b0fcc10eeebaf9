/** How a report request becomes SQL: filters in both declared forms. */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { reportSchema } from "../../src/config/schema.ts";
import { planReportQuery } from "../../src/report/query.ts";

const declare = (filters: unknown) => reportSchema.parse({ description: "Revenue", model: "daily_revenue", filters, key: ["day"] });

describe("report filters", () => {
  it("takes any text for a filter declared by name, and binds it", () => {
    const plan = planReportQuery(declare(["currency"]), new URLSearchParams({ currency: "usd' OR 1=1 --" }), undefined);
    expect(plan.sql).toBe('SELECT * FROM "daily_revenue" WHERE "currency" = ?1 ORDER BY "day" ASC LIMIT ?2');
    expect(plan.params).toEqual(["usd' OR 1=1 --", 1001]);
  });

  it("checks a filter declared with a schema, and refuses what it refuses with a 400 naming the filter", () => {
    const report = declare({ currency: z.enum(["usd", "eur"]), year: z.int().min(2000) });
    const plan = planReportQuery(report, new URLSearchParams({ currency: "eur", year: "2031" }), undefined);
    expect(plan.params).toEqual(["eur", 2031, 1001]);
    expect(() => planReportQuery(report, new URLSearchParams({ currency: "usd' OR 1=1 --" }), undefined)).toThrow(
      /^parameter "currency": /,
    );
    expect(() => planReportQuery(report, new URLSearchParams({ year: "1999" }), undefined)).toThrow(/^parameter "year": /);
  });

  it("refuses a filter that is also a param, or named like an API parameter", () => {
    const param = { schema: z.string(), column: "currency" };
    expect(() =>
      reportSchema.parse({ description: "x", model: "m", params: { currency: param }, filters: { currency: z.string() } }),
    ).toThrow(/both a param and a filter/);
    expect(() => reportSchema.parse({ description: "x", model: "m", filters: ["sort"] })).toThrow(/reserved/);
  });
});
