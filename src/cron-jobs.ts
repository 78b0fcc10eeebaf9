/**
 * The `scheduled` entry. In: the cron that fired (`controller.cron`, the text of one of the crons
 * in crons.ts). Out: the jobs that cron owns, run: pull runs of the resources scheduled on it,
 * Parquet compaction on `lake.schedule`, the model runner on `models.schedule` and on any model's
 * own `schedule`, and, on every tick, the incident sweep, the stream monitors (ops/monitors.ts), the
 * table monitors (ops/table-monitors.ts), the SLAs (ops/slas.ts) and the fold of old metric minutes.
 * A cron may own several jobs; one failing does not stop the others.
 */

import { nodesOnCron } from "./crons.ts";
import type { Runtime } from "./env.ts";
import { compactLake } from "./load/lake.ts";
import { getManifest } from "./models/manifest.ts";
import { runModels } from "./models/runner.ts";
import { judgeStreamMonitors } from "./ops/monitors.ts";
import { foldOldMinutes } from "./ops/rollups.ts";
import { checkSlas } from "./ops/slas.ts";
import { sweepIncidents } from "./ops/sweep.ts";
import { judgeTableMonitors } from "./ops/table-monitors.ts";
import { dueResources, startPull } from "./pull/planner.ts";

export async function runCronJobs(controller: ScheduledController, runtime: Runtime): Promise<void> {
  const { cron } = controller;
  const { config } = runtime;
  const jobs: (() => Promise<unknown>)[] = [];
  for (const { source, stream } of dueResources(runtime, cron)) jobs.push(() => startPull(runtime, source, stream, "cron"));
  if (cron === config.lake.schedule) jobs.push(() => compactLake(runtime, { now: new Date(controller.scheduledTime) }));
  // Models with their own `schedule` run on it; the rest run on `models.schedule`.
  const nodes = nodesOnCron(getManifest(), cron);
  if (cron === config.models.schedule) {
    jobs.push(() => runModels(runtime, { trigger: "cron", cron, ...(nodes.scheduled.length > 0 ? { exclude: nodes.scheduled } : {}) }));
  }
  if (nodes.own.length > 0) jobs.push(() => runModels(runtime, { trigger: "cron", cron, select: nodes.own }));
  // On every tick, off the hot paths: incidents whose condition cleared are resolved, each stream's
  // completed hours are judged, the rows loaded since the last tick are counted for the tables' null
  // rates, SLAs are judged, and metric minutes older than an hour are folded into their all-time rows.
  const now = new Date(controller.scheduledTime);
  jobs.push(() =>
    Promise.all([
      sweepIncidents(runtime),
      judgeStreamMonitors(runtime, now),
      judgeTableMonitors(runtime, now),
      checkSlas(runtime, getManifest(), now),
      runtime.env.DB.batch(foldOldMinutes(runtime.env.DB, now)),
    ]),
  );
  if (jobs.length === 1) {
    runtime.log.warn("cron.unmatched", { cron });
    return;
  }
  const results = await Promise.allSettled(jobs.map((job) => job()));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  for (const failure of failed) runtime.log.error("cron.job_failed", { cron, error: failure.reason });
  if (failed.length > 0) throw failed[0]!.reason;
}
