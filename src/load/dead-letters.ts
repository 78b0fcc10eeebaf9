/**
 * Dead letters: messages that can never be loaded. They reach `_sluice_dead_letters` two ways:
 * from the dead-letter queues, once a message has used up its retries (with its last error), and
 * straight from the ingest consumer when a message does not even parse. Either way the body is
 * kept whole, with the reason, so an operator can see it and redrive it. Nothing is dropped. A
 * record's payload is kept with its stream's redact and hash applied (see protect.ts); should the
 * stream hash fields while SLUICE_HASH_SALT is unset, the body is kept in R2 instead, and the row
 * points at it.
 */
import { eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { deadLetters, messageErrors } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { type OpenSelection, openRowsWhere } from "./selection.ts";
import { SluiceError } from "../lib/errors.ts";
import { raiseAlert } from "../lib/alerts.ts";
import { backoffSeconds } from "../lib/retry.ts";
import { queueFor } from "../messages.ts";
import { protectMessageBody } from "./protect.ts";

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
  const stored = await Promise.all(entries.map(({ message }) => storedBody(runtime, queue, message)));
  const [first, ...rest] = entries.map(({ message, reason }, i) => {
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
        body: stored[i]!,
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
  const subjects = new Set(entries.map(({ message }) => {
    const body = (message.body ?? {}) as { source?: unknown; stream?: unknown };
    return `${typeof body.source === "string" ? body.source : ""}/${typeof body.stream === "string" ? body.stream : ""}`;
  }));
  for (const subject of subjects) {
    await raiseAlert(runtime, { kind: "dead_letter", subject, message: `messages of ${subject === "/" ? "unknown streams" : subject} could not be loaded; see /v1/dead-letters` });
  }
}

const heldInR2 = "dead-letters/";

/** The body as `_sluice_dead_letters` keeps it: never with a field its stream redacts or hashes in clear. */
async function storedBody(runtime: Runtime, queue: string, message: Message<unknown>): Promise<string> {
  const body = await protectMessageBody(runtime, message.body, "refuse");
  if (body !== undefined) return JSON.stringify(body) ?? "null";
  // Its stream hashes fields and there is no salt to hash them with: keep it whole in R2.
  const r2Key = `${heldInR2}${queue}/${message.id}.json`;
  try {
    await runtime.env.RAW.put(r2Key, JSON.stringify(message.body), { httpMetadata: { contentType: "application/json" } });
  } catch (cause) {
    throw new SluiceError("storage_unavailable", `could not keep dead letter ${message.id} in R2`, { cause });
  }
  return JSON.stringify({ $ref: r2Key, why: "its stream hashes fields and SLUICE_HASH_SALT is unset, so the body is kept in R2" });
}

/** A dead letter's body as it was sent, read back from R2 if it is kept there. */
async function sentBody(runtime: Runtime, text: string): Promise<unknown> {
  const body = JSON.parse(text) as { $ref?: unknown };
  if (typeof body !== "object" || body === null || typeof body.$ref !== "string" || !body.$ref.startsWith(heldInR2)) return body;
  const object = await runtime.env.RAW.get(body.$ref);
  if (object === null) throw new SluiceError("storage_unavailable", `dead letter body ${body.$ref} is missing from R2`);
  return object.json();
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
    await queueFor(runtime.env, row.kind).send(await sentBody(runtime, row.body), { contentType: "json" });
    await db.update(deadLetters).set({ status: "redriven", redrivenAt: new Date().toISOString() }).where(eq(deadLetters.id, row.id));
  }
  runtime.log.info("dead_letters.redriven", { count: rows.length });
  return rows.length;
}
