/**
 * Dead letters: messages that can never be loaded. They reach `_sluice_dead_letters` two ways:
 * from the dead-letter queues, once a message has used up its retries (with its last error), and
 * straight from a consumer when a message does not parse or fails terminally (see settle.ts).
 * Either way its text is kept whole, with the reason, so an operator can see it and redrive it.
 * Nothing is dropped. A record's payload is kept with its stream's redact and hash applied (see
 * protect.ts); should the stream hash fields while SLUICE_HASH_SALT is unset, the text is kept in
 * R2 instead, and the row points at it.
 */
import { eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { deadLetters, messageErrors } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { backoffSeconds } from "../lib/retry.ts";
import { messageText, queueFor } from "../messages.ts";
import { type DeadLetterEntry, recordDeadLetters } from "../settle.ts";
import { type OpenRowFilter, openRowsWhere } from "./open-rows.ts";
import { protectMessageBody } from "./protect.ts";

const deadLetterSuffix = "-dlq";

export function isDeadLetterQueue(queue: string): boolean {
  return queue.endsWith(deadLetterSuffix);
}

const heldInR2 = "dead-letters/";

/** Records dead letters of the ingest queue, never with a field a stream redacts or hashes in clear. */
export function recordIngestDeadLetters(runtime: Runtime, queue: string, entries: readonly DeadLetterEntry[]): Promise<void> {
  return recordDeadLetters(runtime, queue, entries, protectedText(runtime, queue));
}

/**
 * The text `_sluice_dead_letters` keeps of a message: with its stream's redact and hash applied
 * and marked `redacted`, or, when the stream hashes fields and there is no salt to hash them
 * with, a pointer to the whole text kept in R2.
 */
export function protectedText(runtime: Runtime, queue: string): (message: Message<unknown>) => Promise<string> {
  return async (message) => {
    const text = messageText(message);
    const protectedBody = await protectMessageBody(runtime, text, "refuse");
    if (typeof protectedBody === "string") return protectedBody;
    const r2Key = `${heldInR2}${queue}/${message.id}.json`;
    try {
      await runtime.env.RAW.put(r2Key, text, { httpMetadata: { contentType: "application/json" } });
    } catch (cause) {
      throw new SluiceError("storage_unavailable", `could not keep dead letter ${message.id} in R2`, { cause });
    }
    return JSON.stringify({ $ref: r2Key, why: "its stream hashes fields and SLUICE_HASH_SALT is unset, so the body is kept in R2" });
  };
}

/** A dead letter's text as it was sent, read back from R2 if it is kept there. */
async function sentText(runtime: Runtime, stored: string): Promise<string> {
  let pointer: { $ref?: unknown };
  try {
    pointer = JSON.parse(stored) as { $ref?: unknown };
  } catch {
    return stored;
  }
  if (typeof pointer !== "object" || pointer === null || typeof pointer.$ref !== "string" || !pointer.$ref.startsWith(heldInR2))
    return stored;
  const object = await runtime.env.RAW.get(pointer.$ref);
  if (object === null) throw new SluiceError("storage_unavailable", `dead letter body ${pointer.$ref} is missing from R2`);
  return object.text();
}

/** Consumer of a dead-letter queue: records every message with its last error, then acks it. */
export async function consumeDeadLetterBatch(batch: MessageBatch<unknown>, runtime: Runtime): Promise<void> {
  const origin = batch.queue.slice(0, -deadLetterSuffix.length);
  try {
    const ids = batch.messages.map((message) => message.id);
    const errors = await drizzle(runtime.env.DB).select().from(messageErrors).where(inArray(messageErrors.messageId, ids));
    const lastError = new Map(errors.map((row) => [row.messageId, row.error]));
    await recordIngestDeadLetters(
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

/** Sends open dead letters back to the queue they came from and marks them redriven. */
export async function redriveDeadLetters(runtime: Runtime, filter: OpenRowFilter): Promise<number> {
  const db = drizzle(runtime.env.DB);
  const rows = await db.select().from(deadLetters).where(openRowsWhere(deadLetters, filter)).orderBy(deadLetters.id).limit(filter.limit);
  for (const row of rows) {
    // The text goes back as it was recorded: a message that was never JSON fails the same way again.
    await queueFor(runtime.env, row.kind).send(await sentText(runtime, row.body), { contentType: "text" });
    await db.update(deadLetters).set({ status: "redriven", redrivenAt: new Date().toISOString() }).where(eq(deadLetters.id, row.id));
  }
  runtime.log.info("dead_letters.redriven", { count: rows.length });
  return rows.length;
}
