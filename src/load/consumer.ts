/**
 * The `INGEST` consumer. In: a batch of record messages (up to 100). Out: per stream, a raw
 * object in R2 and rows plus a ledger row in D1; then the messages are acked. A message is acked
 * only once its record is durable. A stream whose load fails has its messages retried with
 * backoff, and after max_retries the queue moves them to the dead-letter queue. The other
 * streams of the batch are unaffected.
 */
import type { Runtime } from "../env.ts";
import { toSluiceError } from "../lib/errors.ts";
import { backoffSeconds } from "../lib/retry.ts";
import { type RecordMessage, recordMessageSchema } from "../messages.ts";
import { recordDeadLetters } from "./dead-letters.ts";
import { loadStream } from "./load-stream.ts";
import type { RawLine } from "./raw-zone.ts";

interface Pending {
  message: Message<unknown>;
  record: RecordMessage;
}

export async function consumeIngestBatch(batch: MessageBatch<unknown>, runtime: Runtime): Promise<void> {
  const log = runtime.log.child({ queue: batch.queue });
  const valid: Pending[] = [];
  const invalid: { message: Message<unknown>; reason: string }[] = [];
  for (const message of batch.messages) {
    const parsed = recordMessageSchema.safeParse(message.body);
    if (parsed.success) valid.push({ message, record: parsed.data });
    else invalid.push({ message, reason: `not a record message: ${parsed.error.issues[0]?.message ?? "invalid"}` });
  }

  // A message that does not parse will never parse: record it as a dead letter now instead
  // of spending its retries.
  if (invalid.length > 0) {
    try {
      await recordDeadLetters(runtime, batch.queue, invalid);
      for (const { message } of invalid) message.ack();
    } catch (error) {
      retryAll(invalid.map((entry) => entry.message), log, error);
    }
  }

  for (const group of groupByStream(valid)) {
    const { source, stream } = group[0]!.record;
    try {
      const lines = await Promise.all(group.map(({ record }) => toRawLine(runtime, record)));
      const result = await loadStream(runtime, source, stream, lines);
      for (const { message } of group) message.ack();
      log.info("load.completed", { ...result });
    } catch (error) {
      retryAll(
        group.map((entry) => entry.message),
        log.child({ source, stream }),
        error,
      );
    }
  }
}

function retryAll(messages: readonly Message<unknown>[], log: Runtime["log"], error: unknown): void {
  const failure = toSluiceError(error, "storage_unavailable");
  log.error("load.failed", { code: failure.code, error: failure.message, messages: messages.length });
  for (const message of messages) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
}

function groupByStream(pending: readonly Pending[]): Pending[][] {
  const groups = new Map<string, Pending[]>();
  for (const entry of pending) {
    const id = `${entry.record.source}\u0000${entry.record.stream}`;
    const group = groups.get(id);
    if (group) group.push(entry);
    else groups.set(id, [entry]);
  }
  return [...groups.values()];
}

/** The record as the raw zone stores it, with a claim-checked payload read back from R2. */
async function toRawLine(runtime: Runtime, record: RecordMessage): Promise<RawLine> {
  const { source, stream, key, receivedAt, deliveryId } = record;
  let payload = record.payload;
  if (record.r2Key !== undefined) {
    const object = await runtime.env.RAW.get(record.r2Key);
    if (object === null) {
      throw toSluiceError(new Error(`claim-check object ${record.r2Key} is missing`), "storage_unavailable");
    }
    payload = await object.json();
  }
  return { key, source, stream, receivedAt, deliveryId, payload };
}
