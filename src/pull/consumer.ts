/**
 * The `PULL` consumer: one page task per message. A page that succeeds, or whose run has ended,
 * is acked; one the API asked to retry later is retried with its delay; a message that is not a
 * page task is dead-lettered at once (see load's dead letters, recorded by the ingest side).
 */
import type { Runtime } from "../env.ts";
import { toSluiceError } from "../lib/errors.ts";
import { backoffSeconds } from "../lib/retry.ts";
import { pageMessageSchema } from "../messages.ts";
import { handlePage } from "./page.ts";

export async function consumePullMessages(messages: readonly Message<unknown>[], runtime: Runtime): Promise<Message<unknown>[]> {
  const unreadable: Message<unknown>[] = [];
  for (const message of messages) {
    const parsed = pageMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      unreadable.push(message);
      continue;
    }
    try {
      const outcome = await handlePage(runtime, parsed.data, message.attempts);
      if (outcome.ack) message.ack();
      else {
        runtime.log.warn("pull.retry", { source: parsed.data.source, stream: parsed.data.stream, page: parsed.data.page, delaySeconds: outcome.delaySeconds, attempts: message.attempts });
        message.retry({ delaySeconds: outcome.delaySeconds });
      }
    } catch (error) {
      // D1, R2 or a queue failed under us: retry the page; its records are keyed, so a redo
      // never duplicates, and the run's page count stops it from forking.
      const failure = toSluiceError(error, "storage_unavailable");
      runtime.log.error("pull.page_failed", { source: parsed.data.source, stream: parsed.data.stream, page: parsed.data.page, error: failure.message });
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
  }
  return unreadable;
}
