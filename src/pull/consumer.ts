/**
 * The `PULL` consumer: one page task per message, which fetches pages until its run ends or its
 * budget is spent (page.ts). A task that succeeds, or whose run has ended, is acked; one whose
 * first page the API asked to retry later is retried with its delay. A failure is settled by
 * the shared step (settle.ts): retried with backoff if retryable (D1, R2 or a queue failed under
 * us; its records are keyed, so a redo never duplicates, and the run's page count stops it from
 * forking), dead-lettered at once if not. Messages that are not page tasks are handed back, for
 * the ingest consumer to dead-letter.
 */
import type { Runtime } from "../env.ts";
import { pageMessageSchema } from "../messages.ts";
import { settleEach } from "../settle.ts";
import { handlePage } from "./page.ts";

export function consumePullMessages(messages: readonly Message<unknown>[], runtime: Runtime, queue: string): Promise<Message<unknown>[]> {
  return settleEach(runtime, messages, pageMessageSchema, (task, message) => {
    const log = runtime.log.child({ source: task.source, stream: task.stream, runId: task.runId, page: task.page });
    return {
      options: { queue, log, event: "pull.page_failed", alert: { kind: "pull_failed", subject: `${task.source}/${task.stream}` } },
      work: async () => {
        const outcome = await handlePage(runtime, task, message.attempts);
        if (outcome.ack) return;
        log.warn("pull.retry", { delaySeconds: outcome.delaySeconds, attempts: message.attempts });
        return { retryAfterSeconds: outcome.delaySeconds };
      },
    };
  });
}
