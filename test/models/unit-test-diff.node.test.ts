/** How a unit test compares its expected rows with the model's: dbt's comparison on D1's values. */
import { describe, expect, it } from "vitest";
import { compareRows } from "../../src/models/unit-test-diff.ts";

const table = (columns: string[], ...rows: unknown[][]) => ({ columns, rows });

describe("compareRows", () => {
  it.each([
    ["a date and Sluice's timestamp of its midnight", "2016-09-01", "2016-09-01T00:00:00.000Z"],
    ["a space-separated timestamp and an ISO one", "2024-01-05 08:30:00", "2024-01-05T08:30:00.000Z"],
    ["an offset and UTC", "2024-01-05T10:30:00+02:00", "2024-01-05T08:30:00Z"],
    ["a number and its text", 12.5, "12.50"],
    ["true and 1", true, 1],
  ])("matches %s", (_, expected, actual) => {
    expect(compareRows(table(["v"], [expected]), table(["v"], [actual])).status).toBe("pass");
  });

  it("fails different instants and plain text that only looks alike, with a diff", () => {
    const outcome = compareRows(table(["v"], ["2016-09-01"]), table(["v"], ["2016-09-01T00:00:01.000Z"]));
    expect(outcome).toMatchObject({ status: "fail", failures: 2 });
    expect(outcome.message).toContain("1 expected row missing, 1 row not expected");
    expect(compareRows(table(["v"], ["2016-9-1"]), table(["v"], ["2016-09-01"])).status).toBe("fail");
  });
});
