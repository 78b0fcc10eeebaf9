import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/lib/log.ts";

const capture = (options: Parameters<typeof createLogger>[0] = {}) => {
  const lines: string[] = [];
  const log = createLogger({ ...options, sink: (line) => lines.push(line) });
  return { log, lines, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
};

describe("structured logger", () => {
  it("writes one JSON object per event with level, event and fields", () => {
    const { log, parsed } = capture();
    log.info("load.completed", { source: "generic", inserted: 3 });
    const [line] = parsed();
    expect(line).toMatchObject({ level: "info", event: "load.completed", source: "generic", inserted: 3 });
    expect(typeof line!.ts).toBe("string");
  });

  it("drops events below the configured level", () => {
    const { log, lines } = capture({ level: "warn" });
    log.info("quiet");
    log.debug("quieter");
    log.warn("loud");
    expect(lines).toHaveLength(1);
  });

  it("masks secret values wherever they appear, even inside error messages", () => {
    const { log, lines } = capture({ secrets: ["s3cr3t-value", 'quote"secret'] });
    log.error("boom", { error: new Error("request failed with key s3cr3t-value"), note: 'has quote"secret inside' });
    expect(lines[0]).not.toContain("s3cr3t-value");
    expect(lines[0]).not.toContain("quote");
    expect(JSON.parse(lines[0]!).error.message).toBe("request failed with key [redacted]");
  });

  it("never logs fields named like credentials", () => {
    const { log, parsed } = capture();
    log.info("request", { authorization: "Bearer abc", signature: "sha256=00", token: "t", path: "/v1/health" });
    expect(parsed()[0]).toMatchObject({ authorization: "[redacted]", signature: "[redacted]", token: "[redacted]", path: "/v1/health" });
  });

  it("child loggers add their fields to every line", () => {
    const { log, parsed } = capture();
    log.child({ queue: "sluice-ingest" }).warn("retry", { attempts: 2 });
    expect(parsed()[0]).toMatchObject({ queue: "sluice-ingest", attempts: 2 });
  });
});
