/** Time-ordered ids carry the time they were made at, which the table monitors read a load's hour from. */
import { describe, expect, it } from "vitest";
import { newLoadId, newRunId, timeOfId, timeOrderedId } from "../../src/lib/ids.ts";

describe("timeOfId", () => {
  it.each([0, Date.UTC(2041, 0, 7, 13, 10, 5, 123), 2 ** 50 - 1])("gives back the time of an id made at %i", (ms) => {
    expect(timeOfId(timeOrderedId(ms))).toBe(ms);
    expect(timeOfId(newLoadId(ms))).toBe(ms);
    expect(timeOfId(newRunId(ms))).toBe(ms);
  });

  it.each(["lab-steady-1", "ld_short", "ld_000000000!0000000000000000", "ld_iiiiiiiiii0000000000000000", ""])(
    "is undefined for %j, which is no time-ordered id",
    (id) => {
      expect(timeOfId(id)).toBeUndefined();
    },
  );
});
