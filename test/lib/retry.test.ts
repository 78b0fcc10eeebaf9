import { describe, expect, it } from "vitest";
import { backoffSeconds } from "../../src/lib/retry.ts";

describe("backoffSeconds", () => {
  it("doubles from 5 s with each attempt", () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffSeconds(attempt))).toEqual([5, 10, 20, 40, 80]);
  });

  it("caps at 10 minutes, however many attempts", () => {
    expect(backoffSeconds(9)).toBe(600);
    expect(backoffSeconds(1000)).toBe(600);
  });

  it("treats a first delivery (attempts 0) like attempt 1", () => {
    expect(backoffSeconds(0)).toBe(5);
  });
});
