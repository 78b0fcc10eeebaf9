/**
 * One route table: `/openapi.json` documents exactly the routes the app serves, except an
 * explicit list of routes served but not documented (pages, the docs themselves, the benchmark's
 * baseline, the webhook path's 405 for other methods).
 */
import { inspectRoutes } from "hono/dev";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app.ts";
import { getConfig } from "../../src/config/index.ts";
import { call, origin } from "../support/worker.ts";

const undocumented = [
  "GET /",
  "GET /sign-in",
  "POST /sign-in",
  "POST /sign-out",
  "POST /sign-out-everywhere",
  "POST /ui/build",
  "POST /ui/redrive",
  "POST /ui/replay",
  "GET /monitors/{id}",
  "GET /quality",
  "POST /ui/incidents/{id}/ack",
  "POST /ui/incidents/{id}/mute",
  "GET /favicon.ico",
  "ALL /v1/webhooks/{source}",
  "GET /openapi.json",
  "GET /docs",
];

/** Served routes, in OpenAPI's path syntax. */
const served = [
  ...new Set(
    inspectRoutes(app)
      .filter((r) => !r.isMiddleware)
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
  ),
];

async function documented(): Promise<string[]> {
  const response = await call(new Request(`${origin}/openapi.json`));
  expect(response.status).toBe(200);
  const document = (await response.json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
}

describe("/openapi.json is the served route table", () => {
  it("documents every served route, and nothing the app does not serve", async () => {
    const reports = Object.keys(getConfig().reports);
    // The one report route is documented once per report, with that report's params.
    const perReport = new Set(reports.map((name) => `GET /v1/reports/${name}`));
    const docs = await documented();
    expect(docs.filter((route) => perReport.has(route)).sort()).toEqual([...perReport].sort());
    const folded = [...new Set(docs.map((route) => (perReport.has(route) ? "GET /v1/reports/{name}" : route)))];
    expect(folded.sort()).toEqual(served.filter((route) => !undocumented.includes(route)).sort());
  });

  it("serves every route it leaves out, so the exclusions name nothing stale", () => {
    expect(served).toEqual(expect.arrayContaining(undocumented));
  });
});
