/**
 * The queue side of long model runs: each `model_run` message continues its run. Failures are
 * settled by the shared step (settle.ts): retried with backoff if retryable, dead-lettered if not.
 */
import type { Runtime } from "../env.ts";
import { modelRunMessageSchema } from "../messages.ts";
import { settleEach } from "../settle.ts";
import { runModels } from "./runner.ts";

/** Continues the runs; returns the messages that are not model-run tasks at all. */
export function continueModelRuns(messages: readonly Message<unknown>[], runtime: Runtime, queue: string): Promise<Message<unknown>[]> {
  return settleEach(runtime, messages, modelRunMessageSchema, ({ runId }) => ({
    options: { queue, log: runtime.log.child({ runId }), event: "models.continue_failed" },
    work: async () => {
      await runModels(runtime, { trigger: "cron", resumeRunId: runId });
    },
  }));
}
