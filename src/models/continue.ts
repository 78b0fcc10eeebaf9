/**
 * The queue side of long model runs: each `model_run` message continues its run. Failures are
 * settled by the shared step (settle.ts): retried with backoff if retryable, dead-lettered if not.
 */
import type { Runtime } from "../env.ts";
import { messageBody, modelRunMessageSchema } from "../messages.ts";
import { settle } from "../settle.ts";
import { runModels } from "./runner.ts";

/** Continues the runs; returns the messages that are not model-run tasks at all. */
export async function continueModelRuns(
  messages: readonly Message<unknown>[],
  runtime: Runtime,
  queue: string,
): Promise<Message<unknown>[]> {
  const unreadable: Message<unknown>[] = [];
  for (const message of messages) {
    const parsed = modelRunMessageSchema.safeParse(messageBody(message));
    if (!parsed.success) {
      unreadable.push(message);
      continue;
    }
    const { runId } = parsed.data;
    await settle(runtime, [message], { queue, log: runtime.log.child({ runId }), event: "models.continue_failed" }, async () => {
      await runModels(runtime, { trigger: "cron", resumeRunId: runId });
    });
  }
  return unreadable;
}
