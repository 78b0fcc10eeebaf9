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
    bodyHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
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

/**
 * Queue messages travel as JSON text (`contentType: "text"`). workerd deserialises `json` and `v8`
 * bodies for a whole batch before the handler runs, so one body it cannot read would fail every
 * message of the batch, on the dead-letter queue too; text is handed over as it is, and each
 * message is parsed on its own by `messageBody`. Text also makes a message's size exact.
 */
export function encodeMessage(body: unknown): string {
  return (typeof body === "object" && body !== null ? encoded.get(body) : undefined) ?? JSON.stringify(body);
}

/** Texts already computed for a message (to size it for the claim check), so it is serialised once. */
const encoded = new WeakMap<object, string>();

export async function sendMessage(queue: Queue, body: unknown, options: { delaySeconds?: number } = {}): Promise<void> {
  await queue.send(encodeMessage(body), { contentType: "text", ...options });
}

/**
 * Queues take at most 100 messages and 256 KB a sendBatch; this sends any number within both.
 * Returns how many sendBatch calls it made (each is a subrequest).
 */
export async function sendAll(queue: Queue, bodies: readonly unknown[]): Promise<number> {
  const maxBatchBytes = 250_000;
  const encoder = new TextEncoder();
  let batch: MessageSendRequest[] = [];
  let size = 0;
  let calls = 0;
  for (const body of bodies) {
    const text = encodeMessage(body);
    const bytes = encoder.encode(text).byteLength + 100;
    if (batch.length === 100 || (batch.length > 0 && size + bytes > maxBatchBytes)) {
      await queue.sendBatch(batch);
      calls += 1;
      batch = [];
      size = 0;
    }
    batch.push({ body: text, contentType: "text" });
    size += bytes;
  }
  if (batch.length > 0) await queue.sendBatch(batch);
  return calls + (batch.length > 0 ? 1 : 0);
}

/** A message whose text is not JSON. It is dead-lettered with its text, as it came. */
export class UnreadableMessage {
  readonly text: string;
  readonly reason: string;
  constructor(text: string, reason: string) {
    this.text = text;
    this.reason = reason;
  }
}

const decoded = new WeakMap<object, unknown>();

/**
 * A message's body as it was sent: its text parsed as JSON (once per message), or an
 * `UnreadableMessage` when the text does not parse. Messages sent as `json` (before Sluice sent
 * text, and still in flight at the upgrade) arrive already deserialised and are taken as they are.
 */
export function messageBody(message: Message<unknown>): unknown {
  const body = message.body;
  const isBytes = body instanceof ArrayBuffer || ArrayBuffer.isView(body);
  if (typeof body !== "string" && !isBytes) return body;
  if (decoded.has(message)) return decoded.get(message);
  let value: unknown;
  const text = typeof body === "string" ? body : new TextDecoder().decode(body as ArrayBuffer);
  try {
    value = JSON.parse(text);
  } catch (error) {
    value = new UnreadableMessage(text, `not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  decoded.set(message, value);
  return value;
}

/** The message as text, for a dead letter: what was sent, byte for byte where it was text. */
export function messageText(message: Message<unknown>): string {
  const body = messageBody(message);
  if (body instanceof UnreadableMessage) return body.text;
  if (typeof message.body === "string") return message.body;
  return JSON.stringify(body) ?? "null";
}

/** The `kind` a message says it is, if it is a readable object with one. */
export function kindOf(message: Message<unknown>): string | undefined {
  const body = messageBody(message);
  if (typeof body !== "object" || body === null || body instanceof UnreadableMessage) return undefined;
  const kind = (body as { kind?: unknown }).kind;
  return typeof kind === "string" ? kind : undefined;
}

/** Record messages whose text would be above this many bytes travel through R2 (claim check); a message holds at most 128 KB. */
export const claimCheckBytes = 100 * 1024;

/** `claims/<source>/<stream>/dt=YYYY-MM-DD/<deliveryId>.json`: unique per delivery, never overwritten. */
export function claimCheckKey(record: { source: string; stream: string; deliveryId: string; receivedAt: string }): string {
  return `claims/${record.source}/${record.stream}/dt=${record.receivedAt.slice(0, 10)}/${record.deliveryId}.json`;
}

/**
 * The record message for a payload: inline, or stored in R2 first with the message carrying only
 * its key (claim check). The decision is made on the message as it will be sent (its JSON text),
 * which can be several times larger than the body it came from (`1e20` is sent as 21 digits);
 * a body already over the threshold goes to R2 without being serialised to find out. `body` is
 * what R2 stores: the raw request body where the caller has it, else the payload's JSON.
 */
export async function toRecordMessage(
  bucket: R2Bucket,
  fields: Omit<RecordMessage, "v" | "kind" | "payload" | "r2Key">,
  payload: unknown,
  options: { body?: Uint8Array; threshold?: number } = {},
): Promise<RecordMessage> {
  const threshold = options.threshold ?? claimCheckBytes;
  const base = { v: 1 as const, kind: "record" as const, ...fields };
  if (options.body === undefined || options.body.byteLength <= threshold) {
    const inline: RecordMessage = { ...base, payload };
    const text = JSON.stringify(inline);
    // A UTF-16 code unit is at most 3 UTF-8 bytes: most messages are sized without encoding them.
    if (text.length * 3 <= threshold || utf8Length(text) <= threshold) {
      encoded.set(inline, text);
      return inline;
    }
  }
  const r2Key = claimCheckKey(fields);
  await bucket.put(r2Key, options.body ?? new TextEncoder().encode(JSON.stringify(payload)), {
    httpMetadata: { contentType: "application/json" },
    customMetadata: { source: fields.source, stream: fields.stream, key: fields.key },
  });
  return { ...base, r2Key };
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).byteLength;
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
 * Record messages for many records of one stream: grouped into `records` messages whose text is
 * at most about 100 KB, with any record too large for that claim-checked on its own.
 */
export async function recordMessagesFor(
  bucket: R2Bucket,
  base: { source: string; stream: string; receivedAt: string; deliveryId: string },
  records: readonly { key: string; payload: unknown }[],
): Promise<(RecordsMessage | RecordMessage)[]> {
  const messages: (RecordsMessage | RecordMessage)[] = [];
  const overhead = utf8Length(JSON.stringify({ v: 1, kind: "records", ...base, records: [] }));
  let group: { key: string; payload: unknown }[] = [];
  let size = overhead;
  const flush = () => {
    if (group.length > 0) messages.push({ v: 1, kind: "records", ...base, records: group });
    group = [];
    size = overhead;
  };
  for (const [i, record] of records.entries()) {
    // The record's text in the message, plus the comma before it.
    const bytes = utf8Length(JSON.stringify({ key: record.key, payload: record.payload })) + 1;
    if (overhead + bytes > claimCheckBytes) {
      // The delivery id names the claim object: it must differ for different records.
      messages.push(
        await toRecordMessage(
          bucket,
          { ...base, key: record.key, deliveryId: `${base.deliveryId}_${i}_${shortHash(record.key)}` },
          record.payload,
        ),
      );
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
  return kindOf(message) === "page";
}

/** Continue a model run in a fresh invocation, where the previous one ran out of time. */
export const modelRunMessageSchema = z.object({ v: z.literal(1), kind: z.literal("model_run"), runId: z.string().min(1) });

export function isModelRunTask(message: Message<unknown>): boolean {
  return kindOf(message) === "model_run";
}
