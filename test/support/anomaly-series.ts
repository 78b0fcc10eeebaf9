/**
 * Anomaly tests over a seed built for the test: a generated series of events (daily or hourly,
 * ending now, so the newest bucket is still filling), and a build of it with the given tests.
 */
import { compileManifest } from "../../src/models/compile/index.ts";
import { buildManifest } from "./pipeline.ts";

export const hourMs = 3_600_000;
export const dayMs = 24 * hourMs;

/**
 * A seed of events: `count(bucket)` rows in each bucket of `size` from `buckets` ago up to and
 * including the bucket filling now, spread over the bucket. Row i of a bucket has `amount` null
 * when `isNull(bucket, i)`, and `kind` from `kindOf(bucket, i)`.
 */
export function eventsCsv(
  size: number,
  buckets: number,
  count: (bucket: number, start: Date) => number,
  isNull: (bucket: number, i: number) => boolean = () => false,
  kindOf: (bucket: number, i: number) => string = () => "a",
): string {
  const current = Math.floor(Date.now() / size) * size;
  const lines = ["id,created_at,amount,kind"];
  let id = 0;
  for (let b = 0; b <= buckets; b++) {
    const start = current - (buckets - b) * size;
    const n = count(b, new Date(start));
    for (let i = 0; i < n; i++) {
      const at = new Date(start + Math.floor(((i + 0.5) / n) * size * (b === buckets ? 0.01 : 1)));
      lines.push(`${++id},${at.toISOString()},${isNull(b, i) ? "" : 10 + (i % 7)},${kindOf(b, i)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Weekdays 40 rows, weekends 20, ±2 by a fixed pattern. */
export const weekly = (bucket: number, start: Date) => (start.getUTCDay() % 6 === 0 ? 20 : 40) + ((bucket * 7) % 5) - 2;
/** The start of the bucket `back` buckets before the one filling now. */
export const bucketStart = (size: number, back: number) => new Date(Math.floor(Date.now() / size) * size - back * size).toISOString();

export async function build(csv: string, tests: string) {
  const manifest = await compileManifest({
    project: "quality",
    seeds: [{ path: "seeds/events.csv", csv }],
    models: [],
    properties: [{ path: "seeds/schema.yml", yaml: `version: 2\nseeds:\n  - name: events\n    data_tests:\n${tests}` }],
    sources: {},
  });
  const summary = await buildManifest(manifest);
  return { manifest, summary, tests: summary.results.filter((r) => r.resourceType === "test") };
}
