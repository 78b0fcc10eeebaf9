/**
 * The `INGEST` consumer. In: a batch of messages (up to 100): records, replay tasks and replace
 * commits. Out: per stream, a raw object in R2 and rows plus a ledger row in D1; then the messages
 * are acked. A message is acked only once its work is durable. Work that fails is retried with
 * backoff and, after max_retries, moves to the dead-letter queue with its last error. A message
 * that cannot even be parsed is dead-lettered at once. The other streams of a batch are unaffected.
 */
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { messageErrors } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { raiseAlert } from "../lib/alerts.ts";
import { toSluiceError } from "../lib/errors.ts";
import { backoffSeconds } from "../lib/retry.ts";
import { type IngestMessage, ingestMessageSchema, type ParsedRecordMessage, type RecordsMessage } from "../messages.ts";
import { recordDeadLetters } from "./dead-letters.ts";
import { loadStream } from "./load-stream.ts";
import type { RawLine } from "./raw-zone.ts";
import { commitReplace, replayDay, replayObject } from "./replay.ts";

interface Pending<M extends IngestMessage = IngestMessage> {
  message: Message<unknown>;
  body: M;
}

export async function consumeIngestBatch(batch: Pick<MessageBatch<unknown>, "queue" | "messages">, runtime: Runtime): Promise<void> {
  const log = runtime.log.child({ queue: batch.queue });
  const records: Pending<ParsedRecordMessage | RecordsMessage>[] = [];
  const tasks: Pending[] = [];
  const invalid: { message: Message<unknown>; reason: string }[] = [];
  for (const message of batch.messages) {
    const parsed = ingestMessageSchema.safeParse(message.body);
    if (!parsed.success) invalid.push({ message, reason: `not a valid message: ${parsed.error.issues[0]?.message ?? "invalid"}` });
    else if (parsed.data.kind === "record" || parsed.data.kind === "records") records.push({ message, body: parsed.data });
    else tasks.push({ message, body: parsed.data });
  }

  // A message that does not parse never will: record it as a dead letter now instead of
  // spending its retries.
  if (invalid.length > 0) {
    const messages = invalid.map((entry) => entry.message);
    await settle(runtime, batch.queue, messages, log, () => recordDeadLetters(runtime, batch.queue, invalid));
  }

  for (const group of groupRecords(records)) {
    const { source, stream } = group[0]!.body;
    await settle(runtime, batch.queue, group.map((entry) => entry.message), log.child({ source, stream }), async () => {
      const lines = (await Promise.all(group.map(({ body }) => toRawLines(runtime, body)))).flat();
      const result = await loadStream(runtime, source, stream, lines, { kind: originOf(group[0]!.body) });
      log.info("load.completed", { ...result });
    });
  }

  for (const task of tasks) {
    await settle(runtime, batch.queue, [task.message], log.child({ task: task.body.kind }), () => runTask(runtime, task.body));
  }
}

async function runTask(runtime: Runtime, task: IngestMessage): Promise<void> {
  switch (task.kind) {
    case "replay_day":
      return replayDay(runtime, task);
    case "replay_object":
      return replayObject(runtime, task);
    case "replace_commit":
      return commitReplace(runtime, task);
    case "record":
    case "records":
      throw new Error("records are loaded in groups");
  }
}

/** Runs `work`; acks the messages if it succeeds, retries them with backoff if it fails. */
async function settle(
  runtime: Runtime,
  queue: string,
  messages: readonly Message<unknown>[],
  log: Runtime["log"],
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
    runtime.settings.faults?.maybeFail("consumer", "after a load, before its ack");
    for (const message of messages) message.ack();
  } catch (error) {
    const failure = toSluiceError(error, "storage_unavailable");
    log.error("load.failed", { code: failure.code, error: failure.message, retryable: failure.retryable, messages: messages.length });
    if (!failure.retryable) {
      // A terminal error fails the same way every time: dead-letter now, with the reason.
      try {
        await recordDeadLetters(runtime, queue, messages.map((message) => ({ message, reason: `${failure.code}: ${failure.message}` })));
        for (const message of messages) message.ack();
        return;
      } catch {
        // Could not record it; fall through to a retry so nothing is lost.
      }
    }
    for (const message of messages) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    await rememberErrors(runtime, queue, messages, failure.message);
    const subject = streamOf(messages);
    // One failed attempt is routine; an incident is a stream still failing after a few.
    if (subject && messages.some((m) => m.attempts >= 3)) {
      await raiseAlert(runtime, { kind: "load_failed", subject, message: failure.message }).catch(() => undefined);
    }
  }
}

function streamOf(messages: readonly Message<unknown>[]): string | undefined {
  const body = messages[0]?.body as { source?: unknown; stream?: unknown } | undefined;
  return typeof body?.source === "string" && typeof body.stream === "string" ? `${body.source}/${body.stream}` : undefined;
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

type RecordBody = ParsedRecordMessage | RecordsMessage;

const originOf = (body: RecordBody) => (body.kind === "record" ? body.origin : "ingest");

function groupRecords(pending: readonly Pending<RecordBody>[]): Pending<RecordBody>[][] {
  const groups = new Map<string, Pending<RecordBody>[]>();
  for (const entry of pending) {
    const id = `${entry.body.source}\u0000${entry.body.stream}\u0000${originOf(entry.body)}`;
    const group = groups.get(id);
    if (group) group.push(entry);
    else groups.set(id, [entry]);
  }
  return [...groups.values()];
}

/** The records as the raw zone stores them, with claim-checked payloads read back from R2. */
async function toRawLines(runtime: Runtime, body: RecordBody): Promise<RawLine[]> {
  if (body.kind === "records") {
    const { source, stream, receivedAt, deliveryId } = body;
    const mark = body.redacted ? { redacted: true } : {};
    return body.records.map(({ key, payload }) => ({ key, source, stream, receivedAt, deliveryId, payload, ...mark }));
  }
  return [await toRawLine(runtime, body)];
}

async function toRawLine(runtime: Runtime, record: ParsedRecordMessage): Promise<RawLine> {
  const { source, stream, key, receivedAt, deliveryId, bodyHash, keySigned } = record;
  let payload = record.payload;
  if (record.r2Key !== undefined) {
    const object = await runtime.env.RAW.get(record.r2Key);
    if (object === null) throw toSluiceError(new Error(`claim-check object ${record.r2Key} is missing`), "storage_unavailable");
    payload = await object.json();
  }
  return {
    key,
    source,
    stream,
    receivedAt,
    deliveryId,
    ...(bodyHash !== undefined ? { bodyHash } : {}),
    ...(keySigned !== undefined ? { keySigned } : {}),
    payload,
    ...(record.transformed ? { transformed: true } : {}),
    ...(record.redacted ? { redacted: true } : {}),
  };
}
