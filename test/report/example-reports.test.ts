/**
 * The example pipeline's reports answer what their declarations promise: rows for a filter value
 * in either case, and a 400 (never a 500) for a cursor a report cannot page by.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { deliver, recordMessage } from "../support/queue.ts";
import { buildUpTo, declareReport } from "../support/reports.ts";
import { getWithReportToken } from "../support/worker.ts";

const get = getWithReportToken;
type Body = { rows: Record<string, unknown>[]; error: { code: string; message: string; requestId: string } };

/** A Stripe charge event as the charges stream receives it, created on `day` (in 2041, so no other rows share it). */
function charge(id: string, day: string, amount: number, currency: string, status = "succeeded") {
  const created = Date.parse(`${day}T12:00:00Z`) / 1000;
  return recordMessage(
    `evt_${id}`,
    { id: `evt_${id}`, type: `charge.${status}`, created, data: { object: { id, amount, currency, status, customer: null } } },
    { source: "stripe", stream: "charges" },
  );
}

describe("example report daily_revenue: currency filter", () => {
  beforeAll(async () => {
    const result = await deliver([
      charge("ch_rev_1", "2041-02-01", 1000, "usd"),
      charge("ch_rev_2", "2041-02-01", 2500, "usd"),
      charge("ch_rev_3", "2041-02-01", 700, "eur"),
      charge("ch_rev_4", "2041-02-02", 4000, "usd"),
    ]);
    expect(result.explicitAcks).toHaveLength(4);
    await buildUpTo("daily_revenue");
  });

  for (const currency of ["usd", "USD", "Usd"]) {
    it(`returns the day's revenue for currency=${currency}`, async () => {
      const response = await get(`/v1/reports/daily_revenue?currency=${currency}&from=2041-02-01&to=2041-02-28&sort=day`);
      expect(response.status).toBe(200);
      expect(((await response.json()) as Body).rows).toEqual([
        { day: "2041-02-01", currency: "USD", charges: 2, revenue: 35 },
        { day: "2041-02-02", currency: "USD", charges: 1, revenue: 40 },
      ]);
    });
  }

  it("keeps other currencies out of the page", async () => {
    const body = (await (await get("/v1/reports/daily_revenue?currency=eur&from=2041-02-01&to=2041-02-28")).json()) as Body;
    expect(body.rows).toEqual([{ day: "2041-02-01", currency: "EUR", charges: 1, revenue: 7 }]);
  });
});

describe("a report with no sort order", () => {
  // Declared here rather than in the example pipeline, which orders every report.
  declareReport("unordered_events", { description: "Events per day, in no order", model: "events_per_day" }, async () => {
    await deliver([recordMessage("unordered-1", { type: "t" })]);
    await buildUpTo("events_per_day");
  });

  it("answers a cursor with 400 naming why, not 500", async () => {
    // `[]`, a cursor of no columns: what an unordered report would give out if it paged.
    const response = await get("/v1/reports/unordered_events?cursor=W10");
    expect(response.status).toBe(400);
    const body = (await response.json()) as Body;
    expect(body).toEqual({
      error: {
        code: "bad_request",
        message:
          'parameter "cursor": this report has no sort order to page by (it declares no key or defaultOrder, and no sort was asked for), so it serves one page and takes no cursor',
        requestId: expect.stringMatching(/.+/),
      },
    });
  });

  it("still serves its one page without a cursor", async () => {
    const response = await get("/v1/reports/unordered_events?limit=1");
    expect(response.status).toBe(200);
  });
});
