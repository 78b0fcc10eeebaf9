/**
 * Dead letters: messages that can never be loaded. They reach `_sluice_dead_letters` two ways:
 * from the dead-letter queues, once a message has used up its retries, and straight from the
 * ingest consumer when a message does not even parse. Either way the body is kept whole, with
 * the reason, so an operator can see it and redrive it. Nothing is dropped silently.
 */
import { drizzle } from "drizzle-orm/d1";
import { deadLetters } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { backoffSeconds } from "../lib/retry.ts";

const deadLetterSuffix = "-dlq";

export function isDeadLetterQueue(queue: string): boolean {
  return queue.endsWith(deadLetterSuffix);
}

export async function recordDeadLetters(
  runtime: Runtime,
  queue: string,
  entries: readonly { message: Message<unknown>; reason: string }[],
): Promise<void> {
  if (entries.length === 0) return;
  const db = drizzle(runtime.env.DB);
  const [first, ...rest] = entries.map(({ message, reason }) => {
    const body = (typeof message.body === "object" && message.body !== null ? message.body : {}) as Record<string, unknown>;
    const text = (field: string) => (typeof body[field] === "string" ? (body[field] as string) : null);
    return db
      .insert(deadLetters)
      .values({
        queue,
        messageId: message.id,
        kind: text("kind"),
        source: text("source"),
        stream: text("stream"),
        key: text("key"),
        attempts: message.attempts,
        reason,
        body: JSON.stringify(message.body) ?? "null",
      })
      .onConflictDoNothing({ target: deadLetters.messageId });
  });
  try {
    await db.batch([first!, ...rest]);
  } catch (cause) {
    throw new SluiceError("storage_unavailable", "could not record dead letters", { cause });
  }
  for (const { message, reason } of entries) {
    runtime.log.warn("queue.dead_letter", { queue, messageId: message.id, attempts: message.attempts, reason });
  }
}

/** Consumer of a dead-letter queue: records every message, then acks it. */
export async function consumeDeadLetterBatch(batch: MessageBatch<unknown>, runtime: Runtime): Promise<void> {
  const origin = batch.queue.slice(0, -deadLetterSuffix.length);
  const reason = `exhausted its retries on ${origin}`;
  try {
    await recordDeadLetters(
      runtime,
      origin,
      batch.messages.map((message) => ({ message, reason })),
    );
  } catch (error) {
    runtime.log.error("queue.dead_letter_failed", { queue: batch.queue, error });
    for (const message of batch.messages) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    return;
  }
  batch.ackAll();
}
