/**
 * The `scheduled` entry: maps the cron that fired to the jobs it owns: the model runner on
 * `models.schedule`, Parquet compaction on `lake.schedule`. A cron may own several jobs.
 */
import type { Runtime } from "./env.ts";
import { compactLake } from "./load/lake.ts";
import { runModels } from "./models/runner.ts";

export async function runScheduled(controller: ScheduledController, runtime: Runtime): Promise<void> {
  const { cron } = controller;
  const { config } = runtime;
  const jobs: (() => Promise<unknown>)[] = [];
  if (cron === config.lake.schedule) jobs.push(() => compactLake(runtime, { now: new Date(controller.scheduledTime) }));
  if (cron === config.models.schedule) jobs.push(() => runModels(runtime, { trigger: "cron", cron }));
  if (jobs.length === 0) {
    runtime.log.warn("cron.unmatched", { cron, known: [config.models.schedule, config.lake.schedule] });
    return;
  }
  for (const job of jobs) await job();
}
