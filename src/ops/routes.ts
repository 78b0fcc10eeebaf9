/**
 * The monitors' part of the ops API (ADMIN_TOKENS): `GET /v1/monitors` every monitor (stream,
 * table and test monitors; see monitor-registry.ts) with its last judged bucket;
 * `GET /v1/monitors/{id}/series` its judged buckets, for charts;
 * `GET /v1/anomalies` the anomalous buckets only, newest first, in keyset pages.
 */
import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq, gte, lt, lte, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { type MonitorBucket, monitorBuckets } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { errors, jsonAnswer } from "../http/responses.ts";
import { createRouter } from "../http/routers.ts";
import { SluiceError } from "../lib/errors.ts";
import { type AnyMonitor, allMonitors } from "./monitor-registry.ts";
import { lastJudged } from "./monitors.ts";

export const monitorRoutes = createRouter("admin");

/** `from` and `to` are inclusive bounds on a bucket's start. */
const range = {
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
};
const fromNotAfterTo = <T extends z.ZodType<{ from?: string | undefined; to?: string | undefined }>>(schema: T) =>
  schema.refine((r) => r.from === undefined || r.to === undefined || Date.parse(r.from) <= Date.parse(r.to), {
    message: "from must not be after to",
    path: ["to"],
  });
const rangeQuery = fromNotAfterTo(z.object(range));
const anomaliesQuery = fromNotAfterTo(
  z.object({
    monitor: z.string().optional(),
    ...range,
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().optional(),
  }),
);

async function knownMonitor(runtime: Runtime, id: string): Promise<AnyMonitor> {
  const monitor = (await allMonitors(runtime)).find((m) => m.id === id);
  if (!monitor) throw new SluiceError("not_found", `no monitor ${id}`);
  return monitor;
}

const inRange = (from: string | undefined, to: string | undefined) => [
  from === undefined ? undefined : gte(monitorBuckets.bucketStart, new Date(from).toISOString()),
  to === undefined ? undefined : lte(monitorBuckets.bucketStart, new Date(to).toISOString()),
];

const bucketView = (b: MonitorBucket) => ({
  start: b.bucketStart,
  end: b.bucketEnd,
  value: b.value,
  expected_low: b.expectedLow,
  expected_high: b.expectedHigh,
  z: b.z,
  anomalous: b.anomalous,
  detail: b.detail,
});

/** A page's last row as an opaque cursor: its bucket start and monitor id. */
const cursorOf = (b: MonitorBucket) => btoa(JSON.stringify([b.bucketStart, b.monitorId]));
const cursorSchema = z.tuple([z.string(), z.string()]);
function afterCursor(cursor: string) {
  let start: string;
  let id: string;
  try {
    [start, id] = cursorSchema.parse(JSON.parse(atob(cursor)));
  } catch {
    throw new SluiceError("bad_request", 'parameter "cursor" is not a cursor this listing gave out');
  }
  return or(lt(monitorBuckets.bucketStart, start), and(eq(monitorBuckets.bucketStart, start), lt(monitorBuckets.monitorId, id)));
}

monitorRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/monitors",
    summary: "Stream, table and test monitors: each with its last judged bucket and whether that bucket is anomalous",
    responses: { 200: jsonAnswer("Monitors"), ...errors(401, 429) },
  }),
  async (c) => {
    const monitors = await allMonitors(c.var.runtime);
    const lastBy = await lastJudged(
      c.env.DB,
      monitors.map((m) => m.id),
    );
    return c.json(
      {
        monitors: monitors.map((m) => {
          const bucket = lastBy.get(m.id);
          return {
            ...m,
            last_bucket: bucket ? bucketView(bucket) : null,
            open_anomaly: bucket?.anomalous ?? false,
          };
        }),
      },
      200,
    );
  },
);

monitorRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/monitors/{id}/series",
    summary: "Every judged bucket of a monitor, oldest first, with its expected range",
    request: { params: z.object({ id: z.string() }), query: rangeQuery },
    responses: { 200: jsonAnswer("The monitor's judged buckets"), ...errors(400, 401, 404, 429) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { from, to } = c.req.valid("query");
    const monitor = await knownMonitor(c.var.runtime, id);
    const buckets = await drizzle(c.env.DB)
      .select()
      .from(monitorBuckets)
      .where(and(eq(monitorBuckets.monitorId, monitor.id), ...inRange(from, to)))
      .orderBy(monitorBuckets.bucketStart);
    return c.json({ monitor: monitor.id, kind: monitor.kind, buckets: buckets.map(bucketView) }, 200);
  },
);

monitorRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/anomalies",
    summary: "Anomalous buckets of every monitor (or one), newest first; `from` and `to` bound the bucket start, inclusive",
    request: { query: anomaliesQuery },
    responses: { 200: jsonAnswer("Anomalous buckets and the cursor of the next page"), ...errors(400, 401, 404, 429) },
  }),
  async (c) => {
    const { monitor, from, to, limit, cursor } = c.req.valid("query");
    if (monitor !== undefined) await knownMonitor(c.var.runtime, monitor);
    const rows = await drizzle(c.env.DB)
      .select()
      .from(monitorBuckets)
      .where(
        and(
          eq(monitorBuckets.anomalous, true),
          monitor === undefined ? undefined : eq(monitorBuckets.monitorId, monitor),
          ...inRange(from, to),
          cursor === undefined ? undefined : afterCursor(cursor),
        ),
      )
      .orderBy(desc(monitorBuckets.bucketStart), desc(monitorBuckets.monitorId))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return c.json(
      {
        anomalies: page.map((b) => ({ monitor: b.monitorId, ...bucketView(b) })),
        next_cursor: rows.length > limit ? cursorOf(page[page.length - 1]!) : null,
      },
      200,
    );
  },
);
