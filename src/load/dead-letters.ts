/**
 * Dead letters: messages that can never be loaded. They reach `_sluice_dead_letters` two ways:
 * from the dead-letter queues, once a message has used up its retries (with its last error), and
 * straight from a consumer when a message does not parse or fails terminally (see settle.ts).
 * Either way its text is kept whole, with the reason, so an operator can see it and redrive it.
 * Nothing is dropped.
 */
import { eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { deadLetters, messageErrors } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { backoffSeconds } from "../lib/retry.ts";
import { queueFor } from "../messages.ts";
import { recordDeadLetters } from "../settle.ts";
import { type OpenSelection, openRowsWhere } from "./selection.ts";

const deadLetterSuffix = "-dlq";

export function isDeadLetterQueue(queue: string): boolean {
  return queue.endsWith(deadLetterSuffix);
}

/** Consumer of a dead-letter queue: records every message with its last error, then acks it. */
export async function consumeDeadLetterBatch(batch: MessageBatch<unknown>, runtime: Runtime): Promise<void> {
  const origin = batch.queue.slice(0, -deadLetterSuffix.length);
  try {
    const ids = batch.messages.map((message) => message.id);
    const errors = await drizzle(runtime.env.DB).select().from(messageErrors).where(inArray(messageErrors.messageId, ids));
    const lastError = new Map(errors.map((row) => [row.messageId, row.error]));
    await recordDeadLetters(
      runtime,
      origin,
      batch.messages.map((message) => ({
        message,
        reason: `exhausted its retries on ${origin}; last error: ${lastError.get(message.id) ?? "not recorded"}`,
      })),
    );
  } catch (error) {
    runtime.log.error("queue.dead_letter_failed", { queue: batch.queue, error });
    for (const message of batch.messages) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    return;
  }
  batch.ackAll();
}

export type RedriveFilter = OpenSelection;

/** Sends open dead letters back to the queue they came from and marks them redriven. */
export async function redriveDeadLetters(runtime: Runtime, filter: RedriveFilter): Promise<number> {
  const db = drizzle(runtime.env.DB);
  const rows = await db
    .select()
    .from(deadLetters)
    .where(openRowsWhere(deadLetters, filter))
    .orderBy(deadLetters.id)
    .limit(filter.limit);
  for (const row of rows) {
    // The text goes back as it was recorded: a message that was never JSON fails the same way again.
    await queueFor(runtime.env, row.kind).send(row.body, { contentType: "text" });
    await db.update(deadLetters).set({ status: "redriven", redrivenAt: new Date().toISOString() }).where(eq(deadLetters.id, row.id));
  }
  runtime.log.info("dead_letters.redriven", { count: rows.length });
  return rows.length;
}
