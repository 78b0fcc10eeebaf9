/**
 * The `scheduled` entry: maps the cron that fired to the jobs it owns. Today that is the model
 * runner on `models.schedule`; pull planning joins it with the REST connector.
 */
import type { Runtime } from "./env.ts";
import { runModels } from "./models/runner.ts";

export async function runScheduled(controller: ScheduledController, runtime: Runtime): Promise<void> {
  const { cron } = controller;
  if (cron === runtime.config.models.schedule) {
    await runModels(runtime, { trigger: "cron", cron });
    return;
  }
  runtime.log.warn("cron.unmatched", { cron, known: [runtime.config.models.schedule] });
}
