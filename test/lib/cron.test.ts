/**
 * Cron expressions are checked with croner, inside workerd (this file runs in the workers
 * project), the way Cloudflare Cron Triggers read them.
 */
import { describe, expect, it } from "vitest";
import { cronProblem, cronSchema } from "../../src/lib/cron.ts";

describe("cronProblem", () => {
  it.each([
    "* * * * *",
    "*/15 * * * *",
    "30 * * * *",
    "0 17 * * sun",
    "0 17 * * 1",
    "10 7 * * mon-fri",
    "10 7 * * 2-6",
    "0 15 1 * *",
    "0 18 * * 6L",
    "0 18 * * friL",
    "59 23 LW * *",
    "0 9 15W JAN MON#2",
    "5,35 0-6/2 * * *",
    "0 0 29 2 *",
  ])("accepts %s", (cron) => {
    expect(cronProblem(cron)).toBeUndefined();
  });

  it.each([
    ["61 * * * *", "Invalid value for minute: 61"],
    ["0 24 * * *", "Invalid value for hour: 24"],
    ["0 0 32 * *", "Invalid value for day"],
    ["*/0 * * * *", "illegal stepping"],
    ["5-1 * * * *", "From value is larger than to value"],
    ["0 0 * * 0", "weekdays are 1-7 from Sunday, or SUN-SAT"],
    ["0 0 * * 8", "weekdays are 1-7 from Sunday, or SUN-SAT"],
    ["0 0 * * someday", "illegal characters"],
    ["0 0 * * 1-9", "weekdays are 1-7 from Sunday"],
    ["0 0 * * 5#6", "nth weekday out of range"],
    ["every hour", "five fields"],
    ["* * * *", "five fields"],
    ["0 0 0 * * *", "five fields"],
    ["@daily", "five fields"],
    ["0  * * * *", "single spaces"],
    [" 0 * * * *", "single spaces"],
    ["0 * * * * ", "single spaces"],
    ["0 0 ? * *", "do not take ?"],
    ["0 0 31 2 *", "never fires"],
    ["abcdefghi", "five fields"],
  ])("refuses %s (%s)", (cron, problem) => {
    expect(cronProblem(cron)).toContain(problem);
  });
});

describe("cronSchema", () => {
  it("names the expression in its message", () => {
    const result = cronSchema.safeParse("61 * * * *");
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => issue.message)).toEqual(['invalid cron "61 * * * *": Invalid value for minute: 61']);
  });
});
