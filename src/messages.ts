/**
 * Queue message schemas, shared by producers and consumers. Every message has a version `v` and
 * a `kind`, so a consumer can tell what it holds and reject what it cannot read.
 */
import { z } from "zod";
import { shortHash } from "./lib/crypto.ts";

/**
 * One record on its way to the loader. It carries the payload inline, or, for a body larger
 * than the claim-check threshold, the R2 key where the producer stored it.
 */
export const recordMessageSchema = z
  .object({
    v: z.literal(1),
    kind: z.literal("record"),
    source: z.string().min(1),
    stream: z.string().min(1),
    /** The record key: the provider's event id, else a SHA-256 of the body. Loads dedupe on it. */
    key: z.string().min(1).max(512),
    /** When Sluice accepted the record (ISO-8601 UTC). */
    receivedAt: z.iso.datetime(),
    /** The HTTP request (or pull page) that brought the record in. */
    deliveryId: z.string().min(1),
    /** Hex SHA-256 of the request body exactly as received (webhooks): binds the key to the body. */
    bodyHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    /**
     * Whether the signature covers the key. False for keys taken from unsigned headers (GitHub,
     * Shopify, generic without a signed id): such a key counts as a re-delivery only with the same
     * `bodyHash`. Absent (older messages, pulls) is treated as signed.
     */
    keySigned: z.boolean().optional(),
    payload: z.unknown().optional(),
    r2Key: z.string().min(1).optional(),
    /** Why the record is on the queue: first delivery, or a redrive from quarantine. */
    origin: z.enum(["ingest", "redrive"]).default("ingest"),
    /** The payload has already been through the stream's transforms (see `redactRaw`). */
    transformed: z.boolean().optional(),
    /** The payload has had the stream's redact and hash applied, but not its filter and map. */
    redacted: z.boolean().optional(),
  })
  .refine((m) => (m.payload === undefined) !== (m.r2Key === undefined), {
    message: "a record message carries exactly one of payload or r2Key",
  });

/** Many records of one stream in one message (a pulled page), within the 128 KB a message holds. */
export const recordsMessageSchema = z.object({
  v: z.literal(1),
  kind: z.literal("records"),
  source: z.string().min(1),
  stream: z.string().min(1),
  receivedAt: z.iso.datetime(),
  deliveryId: z.string().min(1),
  records: z.array(z.object({ key: z.string().min(1).max(512), payload: z.unknown() })).min(1),
  /** The payloads have had the stream's redact and hash applied (a dead letter's copy), but not its filter and map. */
  redacted: z.boolean().optional(),
});

/** Replay one UTC day of a stream's raw zone: the consumer lists it and queues one task per object. */
export const replayDayMessageSchema = z.object({
  v: z.literal(1),
  kind: z.literal("replay_day"),
  source: z.string().min(1),
  stream: z.string().min(1),
  day: z.iso.date(),
  /** Only objects that landed in the raw zone within [from, to] (ISO-8601) are replayed. */
  from: z.iso.datetime(),
  to: z.iso.datetime(),
});

/** Replay one raw-zone object through the stream's current transforms and schema. */
export const replayObjectMessageSchema = z.object({
  v: z.literal(1),
  kind: z.literal("replay_object"),
  source: z.string().min(1),
  stream: z.string().min(1),
  r2Key: z.string().min(1),
});

/**
 * Swap a `replace` stream's fully loaded staging table in for its table. Sent when a pull run
 * completes; it waits (by retrying) until the loads since `since` account for `records` records.
 */
export const replaceCommitMessageSchema = z.object({
  v: z.literal(1),
  kind: z.literal("replace_commit"),
  source: z.string().min(1),
  stream: z.string().min(1),
  since: z.iso.datetime().optional(),
  records: z.number().int().min(0).optional(),
});

export const ingestMessageSchema = z.discriminatedUnion("kind", [
  recordMessageSchema,
  recordsMessageSchema,
  replayDayMessageSchema,
  replayObjectMessageSchema,
  replaceCommitMessageSchema,
]);

export type RecordMessage = z.input<typeof recordMessageSchema>;
export type RecordsMessage = z.infer<typeof recordsMessageSchema>;
export type ParsedRecordMessage = z.output<typeof recordMessageSchema>;
export type ReplayDayMessage = z.infer<typeof replayDayMessageSchema>;
export type ReplayObjectMessage = z.infer<typeof replayObjectMessageSchema>;
export type ReplaceCommitMessage = z.infer<typeof replaceCommitMessageSchema>;
export type IngestMessage = z.output<typeof ingestMessageSchema>;

/** Queues take at most 100 messages and 256 KB a sendBatch; this sends any number within both. */
export async function sendAll(queue: Queue, bodies: readonly unknown[]): Promise<void> {
  const maxBatchBytes = 250_000;
  const encoder = new TextEncoder();
  let batch: MessageSendRequest[] = [];
  let size = 0;
  for (const body of bodies) {
    const bytes = encoder.encode(JSON.stringify(body)).byteLength + 100;
    if (batch.length === 100 || (batch.length > 0 && size + bytes > maxBatchBytes)) {
      await queue.sendBatch(batch);
      batch = [];
      size = 0;
    }
    batch.push({ body, contentType: "json" });
    size += bytes;
  }
  if (batch.length > 0) await queue.sendBatch(batch);
}

/** Payloads above this many bytes travel through R2 (claim check); a message holds at most 128 KB. */
export const claimCheckBytes = 100 * 1024;

/** `claims/<source>/<stream>/dt=YYYY-MM-DD/<deliveryId>.json`: unique per delivery, never overwritten. */
export function claimCheckKey(record: { source: string; stream: string; deliveryId: string; receivedAt: string }): string {
  return `claims/${record.source}/${record.stream}/dt=${record.receivedAt.slice(0, 10)}/${record.deliveryId}.json`;
}

/**
 * The record message for a payload: inline, or, above `threshold` bytes, stored in R2 first with
 * the message carrying only its key. `body` is the payload's JSON as bytes, when the caller has it.
 */
export async function toRecordMessage(
  bucket: R2Bucket,
  fields: Omit<RecordMessage, "v" | "kind" | "payload" | "r2Key">,
  payload: unknown,
  options: { body?: Uint8Array; threshold?: number } = {},
): Promise<RecordMessage> {
  const base = { v: 1 as const, kind: "record" as const, ...fields };
  const body = options.body ?? new TextEncoder().encode(JSON.stringify(payload));
  if (body.byteLength <= (options.threshold ?? claimCheckBytes)) return { ...base, payload };
  const r2Key = claimCheckKey(fields);
  await bucket.put(r2Key, body, {
    httpMetadata: { contentType: "application/json" },
    customMetadata: { source: fields.source, stream: fields.stream, key: fields.key },
  });
  return { ...base, r2Key };
}

/** The queue each kind of message travels on. */
export function queueFor(env: { INGEST: Queue; PULL: Queue }, kind: string | null): Queue {
  return kind === "page" ? env.PULL : env.INGEST;
}

/** One page of a pull run to fetch. */
export const pageMessageSchema = z.object({
  v: z.literal(1),
  kind: z.literal("page"),
  source: z.string().min(1),
  stream: z.string().min(1),
  runId: z.string().min(1),
  /** 1-based page number within the run. */
  page: z.number().int().positive(),
  /** The URL to fetch, complete with query; following a next link never re-adds params. */
  url: z.url(),
  /** Paginator state for offset and page-number paging. */
  offset: z.number().int().min(0).optional(),
  pageNumber: z.number().int().min(0).optional(),
});

export type PageMessage = z.infer<typeof pageMessageSchema>;

/**
 * Record messages for many records of one stream: grouped into `records` messages of at most
 * about 100 KB, with any single record larger than that claim-checked on its own.
 */
export async function recordMessagesFor(
  bucket: R2Bucket,
  base: { source: string; stream: string; receivedAt: string; deliveryId: string },
  records: readonly { key: string; payload: unknown }[],
): Promise<(RecordsMessage | RecordMessage)[]> {
  const messages: (RecordsMessage | RecordMessage)[] = [];
  let group: { key: string; payload: unknown }[] = [];
  let size = 0;
  const flush = () => {
    if (group.length > 0) messages.push({ v: 1, kind: "records", ...base, records: group });
    group = [];
    size = 0;
  };
  const encoder = new TextEncoder();
  for (const [i, record] of records.entries()) {
    const bytes = encoder.encode(JSON.stringify(record.payload)).byteLength + record.key.length + 32;
    if (bytes > claimCheckBytes) {
      // The delivery id names the claim object: it must differ for different records.
      messages.push(await toRecordMessage(bucket, { ...base, key: record.key, deliveryId: `${base.deliveryId}_${i}_${shortHash(record.key)}` }, record.payload));
      continue;
    }
    if (size + bytes > claimCheckBytes) flush();
    group.push(record);
    size += bytes;
  }
  flush();
  return messages;
}

/** A message that claims to be a pull page task (by its kind); its shape is checked by the pull consumer. */
export function isPageTask(message: Message<unknown>): boolean {
  return typeof message.body === "object" && message.body !== null && (message.body as { kind?: unknown }).kind === "page";
}

/** Continue a model run in a fresh invocation, where the previous one ran out of time. */
export const modelRunMessageSchema = z.object({ v: z.literal(1), kind: z.literal("model_run"), runId: z.string().min(1) });

export function isModelRunTask(message: Message<unknown>): boolean {
  return typeof message.body === "object" && message.body !== null && (message.body as { kind?: unknown }).kind === "model_run";
}
