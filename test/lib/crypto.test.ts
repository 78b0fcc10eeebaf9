import { describe, expect, it } from "vitest";
import { equalDigests, matchesAny, sha256, timingSafeEqual, utf8 } from "../../src/lib/crypto.ts";

describe("equalDigests", () => {
  it("is true only for the same bytes, whatever the lengths", async () => {
    const digest = await sha256("token");
    expect(equalDigests(digest, await sha256("token"))).toBe(true);
    expect(equalDigests(digest, await sha256("tokem"))).toBe(false);
    expect(equalDigests(digest, digest.slice(0, 31))).toBe(false);
    expect(equalDigests(digest.slice(0, 31), digest)).toBe(false);
    expect(equalDigests(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});

describe("timingSafeEqual and matchesAny", () => {
  it("compare strings and bytes of any length by their digests", async () => {
    expect(await timingSafeEqual("secret", utf8("secret"))).toBe(true);
    expect(await timingSafeEqual("secret", "secret2")).toBe(false);
    expect(await matchesAny("b", ["a", "b"])).toBe(true);
    expect(await matchesAny("c", ["a", "b"])).toBe(false);
  });
});
