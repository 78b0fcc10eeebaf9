/**
 * The `INGEST` consumer. In: a batch of messages (up to 100): records, replay tasks and replace
 * commits. Out: per stream, a raw object in R2 and rows plus a ledger row in D1; then the messages
 * are acked. A message is acked only once its work is durable. Work that fails retryably is retried
 * with backoff and, after max_retries, moves to the dead-letter queue with its last error; work
 * that fails terminally, and a message that does not parse (its text is not JSON, or not an
 * envelope), is dead-lettered at once (see settle.ts). The rest of the batch is unaffected.
 */
import type { Runtime } from "../env.ts";
import { toSluiceError } from "../lib/errors.ts";
import {
  type IngestMessage,
  ingestMessageSchema,
  messageBody,
  type ParsedRecordMessage,
  type RecordsMessage,
  UnreadableMessage,
} from "../messages.ts";
import { settle } from "../settle.ts";
import { protectedText, recordIngestDeadLetters } from "./dead-letters.ts";
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
    const body = messageBody(message);
    if (body instanceof UnreadableMessage) {
      invalid.push({ message, reason: body.reason });
      continue;
    }
    const parsed = ingestMessageSchema.safeParse(body);
    if (!parsed.success) invalid.push({ message, reason: `not a valid message: ${parsed.error.issues[0]?.message ?? "invalid"}` });
    else if (parsed.data.kind === "record" || parsed.data.kind === "records") records.push({ message, body: parsed.data });
    else tasks.push({ message, body: parsed.data });
  }

  // A message that does not parse never will: record it as a dead letter now instead of
  // spending its retries.
  if (invalid.length > 0) {
    const messages = invalid.map((entry) => entry.message);
    await settleGroup(runtime, batch.queue, messages, log, () => recordIngestDeadLetters(runtime, batch.queue, invalid));
  }

  for (const group of groupRecords(records)) {
    const { source, stream } = group[0]!.body;
    await settleGroup(
      runtime,
      batch.queue,
      group.map((entry) => entry.message),
      log.child({ source, stream }),
      async () => {
        const lines = (await Promise.all(group.map(({ body }) => toRawLines(runtime, body)))).flat();
        const result = await loadStream(runtime, source, stream, lines, { kind: originOf(group[0]!.body) });
        log.info("load.completed", { ...result });
      },
    );
  }

  for (const task of tasks) {
    await settleGroup(runtime, batch.queue, [task.message], log.child({ task: task.body.kind }), () => runTask(runtime, task.body));
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

/** The settle step for a group: a stream still failing after a few attempts raises `load_failed`. */
function settleGroup(
  runtime: Runtime,
  queue: string,
  messages: readonly Message<unknown>[],
  log: Runtime["log"],
  work: () => Promise<void>,
) {
  const subject = streamOf(messages);
  const options = {
    queue,
    log,
    event: "load.failed",
    deadLetterText: protectedText(runtime, queue),
    ...(subject ? { alert: { kind: "load_failed" as const, subject } } : {}),
  };
  return settle(runtime, messages, options, async () => {
    await work();
    runtime.settings.faults?.maybeFail("consumer", "after a load, before its ack");
  });
}

function streamOf(messages: readonly Message<unknown>[]): string | undefined {
  const body = (messages[0] ? messageBody(messages[0]) : undefined) as { source?: unknown; stream?: unknown } | undefined;
  return typeof body?.source === "string" && typeof body.stream === "string" ? `${body.source}/${body.stream}` : undefined;
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
