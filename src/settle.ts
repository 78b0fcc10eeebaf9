/**
 * How every queue consumer (ingest, pull, model-run continuation) settles its messages once their
 * work has run. Neutral ground, like messages.ts: it imports no stage, so each stage may use it.
 * - The work succeeded: ack (its data is durable by then).
 * - It asked to be retried later (a page whose API said "retry after"): retry with that delay.
 * - It failed retryably (`SluiceError.retryable`: D1, R2 or a queue unavailable): retry with
 *   backoff, and remember the error so the dead-letter queue can say why the message died.
 * - It failed terminally: it would fail the same way every time, so it is recorded as a dead
 *   letter with its reason now, and acked. If even that cannot be recorded, it is retried.
 * Dead letters live in `_sluice_dead_letters`, with the message's text as it came.
 */
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { z } from "zod";
import { deadLetters, messageErrors } from "./db/schema.ts";
import type { Runtime } from "./env.ts";
import { type ErrorCode, SluiceError, toSluiceError } from "./lib/errors.ts";
import type { Logger } from "./lib/log.ts";
import { backoffSeconds } from "./lib/retry.ts";
import { messageBody, messageText, UnreadableMessage } from "./messages.ts";
import { type IncidentKind, openIncident } from "./ops/incidents.ts";

/** What a unit of work may ask for instead of an ack; work that returns nothing is acked. */
// biome-ignore lint/suspicious/noConfusingVoidType: a work function that returns nothing (void) means "ack".
export type WorkOutcome = void | { retryAfterSeconds: number };

export interface SettleOptions {
  queue: string;
  log: Logger;
  /** The log event for a failure, e.g. `load.failed`. */
  event: string;
  /** The code for a failure that is not a SluiceError (a binding threw): retryable by default. */
  fallback?: ErrorCode;
  /** Raised once a message has failed retryably three times (one failed attempt is routine). */
  alert?: { kind: IncidentKind; subject: string };
  /** The text a dead letter keeps of a message (the load stage protects redacted fields). */
  deadLetterText?: (message: Message<unknown>) => Promise<string>;
}

export interface DeadLetterEntry {
  message: Message<unknown>;
  reason: string;
}

export async function settle(
  runtime: Runtime,
  messages: readonly Message<unknown>[],
  options: SettleOptions,
  work: () => Promise<WorkOutcome>,
): Promise<void> {
  let outcome: WorkOutcome;
  try {
    outcome = await work();
  } catch (error) {
    await settleFailure(runtime, messages, options, toSluiceError(error, options.fallback ?? "storage_unavailable"));
    return;
  }
  for (const message of messages) {
    if (outcome) message.retry({ delaySeconds: outcome.retryAfterSeconds });
    else message.ack();
  }
}

/**
 * Settles, one by one, the messages `schema` can read, with the options and work `handle` gives
 * each; returns the messages it cannot read, for the ingest consumer to dead-letter.
 */
export async function settleEach<T>(
  runtime: Runtime,
  messages: readonly Message<unknown>[],
  schema: z.ZodType<T>,
  handle: (task: T, message: Message<unknown>) => { options: SettleOptions; work: () => Promise<WorkOutcome> },
): Promise<Message<unknown>[]> {
  const unreadable: Message<unknown>[] = [];
  for (const message of messages) {
    const parsed = schema.safeParse(messageBody(message));
    if (!parsed.success) {
      unreadable.push(message);
      continue;
    }
    const { options, work } = handle(parsed.data, message);
    await settle(runtime, [message], options, work);
  }
  return unreadable;
}

async function settleFailure(
  runtime: Runtime,
  messages: readonly Message<unknown>[],
  options: SettleOptions,
  failure: SluiceError,
): Promise<void> {
  const { queue, log } = options;
  log.error(options.event, { code: failure.code, error: failure.message, retryable: failure.retryable, messages: messages.length });
  if (!failure.retryable) {
    try {
      const entries = messages.map((message) => ({ message, reason: `${failure.code}: ${failure.message}` }));
      await recordDeadLetters(runtime, queue, entries, options.deadLetterText);
      for (const message of messages) message.ack();
      return;
    } catch (error) {
      log.error("queue.dead_letter_failed", { queue, error, messages: messages.length });
      // Not recorded: retry instead, so that nothing is lost.
    }
  }
  for (const message of messages) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  await rememberErrors(runtime, queue, messages, failure.message);
  if (options.alert && messages.some((m) => m.attempts >= 3)) {
    const { kind, subject } = options.alert;
    await openIncident(runtime, { kind, subject, message: failure.message }).catch((error: unknown) => {
      log.error("alert.failed", { kind, subject, error });
    });
  }
}

/** Keeps each message's last error so the dead-letter consumer can record why it died. Best effort. */
async function rememberErrors(runtime: Runtime, queue: string, messages: readonly Message<unknown>[], error: string) {
  const db = drizzle(runtime.env.DB);
  const at = new Date().toISOString();
  // Single statements, not a batch: a failing batch may be exactly what is being remembered.
  // 15 rows of 5 values, plus the update clause, stay within D1's 100 bound parameters.
  for (let i = 0; i < messages.length; i += 15) {
    const rows = messages.slice(i, i + 15).map((message) => ({ messageId: message.id, queue, attempts: message.attempts, error, at }));
    try {
      await db
        .insert(messageErrors)
        .values(rows)
        .onConflictDoUpdate({ target: messageErrors.messageId, set: { attempts: sql`excluded.attempts`, error, at } })
        .run();
    } catch {
      // D1 itself may be down; the dead letter is still recorded later, with a generic reason.
      return;
    }
  }
}

/**
 * Records messages as dead letters, each with its reason and its text as it came (a message that
 * is not even JSON included) or as `textOf` keeps it, so an operator can see it and redrive it. Then raises an alert per
 * stream. Idempotent per message id.
 */
export async function recordDeadLetters(
  runtime: Runtime,
  queue: string,
  entries: readonly DeadLetterEntry[],
  textOf: (message: Message<unknown>) => Promise<string> = async (message) => messageText(message),
): Promise<void> {
  if (entries.length === 0) return;
  const db = drizzle(runtime.env.DB);
  const texts = await Promise.all(entries.map(({ message }) => textOf(message)));
  const [first, ...rest] = entries.map(({ message, reason }, i) => {
    const fields = fieldsOf(message);
    return db
      .insert(deadLetters)
      .values({
        queue,
        messageId: message.id,
        kind: fields.kind,
        source: fields.source,
        stream: fields.stream,
        key: fields.key,
        attempts: message.attempts,
        reason,
        body: texts[i]!,
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
  const subjects = new Set(entries.map(({ message }) => `${fieldsOf(message).source ?? ""}/${fieldsOf(message).stream ?? ""}`));
  for (const subject of subjects) {
    await openIncident(runtime, {
      kind: "dead_letter",
      subject,
      message: `messages of ${subject === "/" ? "unknown streams" : subject} could not be loaded; see /v1/dead-letters`,
    });
  }
}

/** The envelope fields a dead letter is filed under, where the message has them. */
function fieldsOf(message: Message<unknown>): Record<"kind" | "source" | "stream" | "key", string | null> {
  const body = messageBody(message);
  const object = (typeof body === "object" && body !== null && !(body instanceof UnreadableMessage) ? body : {}) as Record<string, unknown>;
  const text = (field: string) => (typeof object[field] === "string" ? (object[field] as string) : null);
  return { kind: text("kind"), source: text("source"), stream: text("stream"), key: text("key") };
}
