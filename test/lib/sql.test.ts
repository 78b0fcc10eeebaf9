import { describe, expect, it } from "vitest";
import { SluiceError } from "../../src/lib/errors.ts";
import { isIdentifier, quoteIdent, rawTableName } from "../../src/lib/sql.ts";

describe("quoteIdent", () => {
  it("quotes plain identifiers", () => {
    expect(quoteIdent("events_per_day")).toBe('"events_per_day"');
    expect(rawTableName("generic", "events")).toBe("raw_generic__events");
  });

  it.each(['a"b', "a b", "1abc", "", "x;drop table y", "a-b", "é"])("rejects %j", (name) => {
    expect(isIdentifier(name)).toBe(false);
    expect(() => quoteIdent(name)).toThrow(SluiceError);
  });
});
