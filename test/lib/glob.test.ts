import { describe, expect, it } from "vitest";
import { webhookSourceSchema } from "../../src/config/schema.ts";
import { routeToStream } from "../../src/ingest/streams.ts";
import { compileGlob } from "../../src/lib/glob.ts";

describe("compileGlob", () => {
  it.each([
    // pattern, text, with ? as a wildcard, with ? literal
    ["", "", true, true],
    ["", "a", false, false],
    ["*", "", true, true],
    ["*", "anything/at/all", true, true],
    ["abc", "abc", true, true],
    ["abc", "abcd", false, false],
    ["abc", "ab", false, false],
    ["a*", "a", true, true],
    ["a*c", "abbbc", true, true],
    ["a*c", "abbbcd", false, false],
    ["*c", "cccc", true, true],
    ["a*b*c", "aXbYc", true, true],
    ["a*b*c", "acb", false, false],
    ["**a**", "xax", true, true],
    ["orders/*", "orders/create", true, true],
    ["orders/*", "ordersXcreate", false, false],
    ["charge.succeeded", "chargeXsucceeded", false, false],
    ["a?c", "abc", true, false],
    ["a?c", "a?c", true, true],
    ["a?c", "ac", false, false],
    ["?", "", false, false],
    ["*?", "", false, false],
    ["*?", "x", true, false],
    ["stg_*", "stg_orders", true, true],
    ["*_snapshot", "orders_snapshot", true, true],
    ["models/*/x.sql", "models/a/b/x.sql", true, true],
    ["a[b]c", "a[b]c", true, true],
    ["a(b|c)", "ab", false, false],
    ["^$\\.+", "^$\\.+", true, true],
  ])("%j against %j: %s with ? as a wildcard, %s with ? literal", (pattern, text, wildcard, literal) => {
    expect(compileGlob(pattern, { anyChar: true })(text)).toBe(wildcard);
    expect(compileGlob(pattern)(text)).toBe(literal);
  });

  it("decides adversarial patterns against long texts at once, and correctly", () => {
    const text = "a".repeat(20_000);
    expect(compileGlob("*?*?*?*?*?*?*?*X", { anyChar: true })(text)).toBe(false);
    expect(compileGlob("*?*?*?*?*?*?*?*a", { anyChar: true })(text)).toBe(true);
    expect(compileGlob("*a*a*a*a*a*a*a*a*a*b")(text)).toBe(false);
    expect(compileGlob("*a*a*a*a*a*a*a*a*a*a")(text)).toBe(true);
    expect(compileGlob("*a*a*a*a*a*a*a*a*a*a")("a".repeat(9))).toBe(false);
  });
});

describe("stream match patterns", () => {
  it("route an adversarial pattern without backtracking, and still route by glob", () => {
    const source = webhookSourceSchema.parse({
      provider: "generic",
      secrets: ["S"],
      signature: { header: "x-sig" },
      streams: { slow: { match: ["*a*a*a*a*a*a*a*a*b"] }, questions: { match: ["what?"] }, events: {} },
      defaultStream: "events",
    });
    expect(routeToStream(source, "a".repeat(5_000))).toBe("events");
    expect(routeToStream(source, `${"a".repeat(5_000)}b`)).toBe("slow");
    expect(routeToStream(source, "what?")).toBe("questions");
    expect(routeToStream(source, "whatX")).toBe("events");
  });
});
