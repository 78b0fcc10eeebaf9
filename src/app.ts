/**
 * The HTTP app: gives every request an id and its runtime (env parsed once per isolate, see
 * `createRuntime`), mounts each stage's routers, and turns every error into
 * `{ error: { code, message, requestId } }` with the status from the one error table. Each router
 * belongs to one auth class (http/routers.ts), whose guard runs in front of every route declared
 * on it; `/openapi.json` is generated from the routes mounted here.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { type AppEnv, createRuntime } from "./env.ts";
import { refuseInvalid } from "./http/routers.ts";
import { webhookRoutes } from "./ingest/routes.ts";
import { errorBody, SluiceError, toSluiceError } from "./lib/errors.ts";
import { newRequestId } from "./lib/ids.ts";
import { redriveDeadLetters } from "./load/dead-letters.ts";
import { planReplay } from "./load/replay.ts";
import { loadRoutes } from "./load/routes.ts";
import { modelRoutes } from "./models/routes.ts";
import { runModels } from "./models/runner.ts";
import { openApiRoutes } from "./openapi.ts";
import { incidentRoutes } from "./ops/incident-routes.ts";
import { monitorRoutes } from "./ops/routes.ts";
import { pullRoutes } from "./pull/routes.ts";
import { dashboardRoutes, signInRoutes } from "./report/dashboard.tsx";
import { dashboardActionRoutes } from "./report/dashboard-actions.ts";
import { healthRoutes } from "./report/health.ts";
import { incidentActionRoutes } from "./report/incident-actions.ts";
import { lineageRoutes } from "./report/lineage.ts";
import { metricsRoutes } from "./report/metrics.ts";
import { monitorPageRoutes } from "./report/monitor-page.tsx";
import { qualityRoutes } from "./report/quality-page.tsx";
import { reportRoutes } from "./report/reports.ts";
import { sourceRoutes } from "./report/sources.ts";

export const app = new OpenAPIHono<AppEnv>({ defaultHook: refuseInvalid });

// Security headers on every response, registered first so that even a failed start gets them: nosniff, frame denial, no referrer, HSTS. API answers are
// data, never pages, so their CSP allows nothing; the HTML pages (dashboard, docs) set their own.
app.use(secureHeaders({ xFrameOptions: "DENY", referrerPolicy: "no-referrer", crossOriginResourcePolicy: false }));
app.use(async (c, next) => {
  await next();
  if (!c.res.headers.has("Content-Security-Policy"))
    c.res.headers.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
});

app.use(async (c, next) => {
  const requestId = newRequestId();
  c.set("requestId", requestId);
  c.header("X-Request-Id", requestId);
  c.set("runtime", createRuntime(c.env, "fetch"));
  await next();
});

// Public, then signed webhooks, then tokens, then the dashboard's session: one router per class
// and stage. Every route is declared on one of them; none is added to `app` itself.
app.route("/", healthRoutes);
app.route("/", signInRoutes);
app.route("/", webhookRoutes);
app.route("/", reportRoutes);
app.route("/", sourceRoutes);
app.route("/", loadRoutes);
app.route("/", pullRoutes);
app.route("/", modelRoutes);
app.route("/", monitorRoutes);
app.route("/", incidentRoutes);
app.route("/", lineageRoutes);
app.route("/", metricsRoutes);
app.route("/", dashboardRoutes);
app.route("/", monitorPageRoutes);
app.route("/", qualityRoutes);
app.route("/", incidentActionRoutes);
// The console's buttons reach into the stages; the wiring, not the report stage, knows them.
app.route(
  "/",
  dashboardActionRoutes({
    build: async (runtime) => {
      const summary = await runModels(runtime, { trigger: "manual" });
      return `Build ${summary.runId}: ${summary.status}, ${summary.results.length} nodes`;
    },
    redrive: async (runtime) => `Redrove ${await redriveDeadLetters(runtime, { limit: 1000 })} dead letters`,
    replay: async (runtime, source) => {
      const to = new Date();
      const tasks = await planReplay(runtime, { source, from: new Date(to.getTime() - 86_400_000).toISOString(), to: to.toISOString() });
      return `Queued ${tasks.length} replay tasks for ${source}`;
    },
  }),
);
app.route("/", openApiRoutes(app));

app.notFound((c) => {
  throw new SluiceError("not_found", `no route for ${c.req.method} ${c.req.path}`);
});

app.onError((err, c) => {
  const requestId = c.get("requestId") ?? newRequestId();
  const error =
    err instanceof HTTPException
      ? new SluiceError(
          ({ 401: "unauthorized", 403: "forbidden", 404: "not_found", 413: "payload_too_large", 415: "unsupported_media_type" } as const)[
            err.status as 401
          ] ?? "bad_request",
          err.message || "request refused",
        )
      : toSluiceError(err);
  const log = c.get("runtime")?.log;
  const fields = { requestId, method: c.req.method, path: c.req.path, status: error.status, code: error.code, error: error.message };
  if (error.status >= 500) (log?.error ?? console.error)("http.error", fields);
  else log?.info("http.rejected", fields);
  // A 500 that is not ours could carry internals; say only that it failed.
  const body = error.code === "internal" ? new SluiceError("internal", "internal error") : error;
  const retryAfter = error.details?.retryAfterSeconds;
  if (typeof retryAfter === "number") c.header("Retry-After", String(retryAfter));
  return c.json(errorBody(body, requestId), error.status);
});
