/** The queue side of long model runs: each `model_run` message continues its run. */
import type { Runtime } from "../env.ts";
import { backoffSeconds } from "../lib/retry.ts";
import { modelRunMessageSchema } from "../messages.ts";
import { runModels } from "./runner.ts";

/** Continues the runs; returns the messages that are not model-run tasks at all. */
export async function continueModelRuns(messages: readonly Message<unknown>[], runtime: Runtime): Promise<Message<unknown>[]> {
  const unreadable: Message<unknown>[] = [];
  for (const message of messages) {
    const parsed = modelRunMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      unreadable.push(message);
      continue;
    }
    try {
      await runModels(runtime, { trigger: "cron", resumeRunId: parsed.data.runId });
      message.ack();
    } catch (error) {
      runtime.log.error("models.continue_failed", { runId: parsed.data.runId, error });
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
  }
  return unreadable;
}
