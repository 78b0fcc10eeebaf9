import { describe, expect, it } from "vitest";
import { errorBody, errorCodes, SluiceError, toSluiceError } from "../../src/lib/errors.ts";

describe("SluiceError", () => {
  it("maps each code to its status and retryability through one table", () => {
    expect(new SluiceError("bad_signature", "x").status).toBe(401);
    expect(new SluiceError("payload_too_large", "x").status).toBe(413);
    expect(new SluiceError("queue_unavailable", "x").retryable).toBe(true);
    expect(new SluiceError("invalid_json", "x").retryable).toBe(false);
    for (const [code, entry] of Object.entries(errorCodes)) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
    }
  });

  it("wraps foreign errors, keeping the cause", () => {
    const cause = new Error("D1_ERROR: busy");
    const wrapped = toSluiceError(cause, "storage_unavailable");
    expect(wrapped).toBeInstanceOf(SluiceError);
    expect(wrapped.code).toBe("storage_unavailable");
    expect(wrapped.retryable).toBe(true);
    expect(wrapped.cause).toBe(cause);
    expect(toSluiceError(wrapped)).toBe(wrapped);
  });

  it("takes retryability from the code unless the thrower sets it, and a foreign error from its fallback", () => {
    expect(new SluiceError("bad_request", "x", { retryable: true }).retryable).toBe(true);
    expect(new SluiceError("storage_unavailable", "x", { retryable: false }).retryable).toBe(false);
    expect(toSluiceError(new Error("boom")).retryable).toBe(false);
    expect(toSluiceError(new Error("boom")).code).toBe("internal");
  });

  it("renders the error body contract", () => {
    expect(errorBody(new SluiceError("unknown_report", 'no report named "x"'), "req_1")).toEqual({
      error: { code: "unknown_report", message: 'no report named "x"', requestId: "req_1" },
    });
  });
});
