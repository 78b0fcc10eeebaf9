/**
 * Hands an accepted record to the `INGEST` queue. A body above the claim-check threshold is put
 * in R2 first and the message carries only its key, since a queue message holds at most 128 KB.
 */
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import type { RecordMessage } from "../messages.ts";

export interface AcceptedRecord {
  source: string;
  stream: string;
  key: string;
  deliveryId: string;
  receivedAt: Date;
  /** The raw body as received, and its parsed value. */
  body: Uint8Array<ArrayBuffer>;
  payload: unknown;
}

export async function enqueueRecord(runtime: Runtime, record: AcceptedRecord): Promise<RecordMessage> {
  const { env, config } = runtime;
  const base = {
    v: 1 as const,
    kind: "record" as const,
    source: record.source,
    stream: record.stream,
    key: record.key,
    receivedAt: record.receivedAt.toISOString(),
    deliveryId: record.deliveryId,
  };
  let message: RecordMessage;
  if (record.body.byteLength > config.limits.claimCheckBytes) {
    const r2Key = claimCheckKey(record);
    try {
      await env.RAW.put(r2Key, record.body, {
        httpMetadata: { contentType: "application/json" },
        customMetadata: { source: record.source, stream: record.stream, key: record.key },
      });
    } catch (cause) {
      throw new SluiceError("storage_unavailable", "could not store the payload; retry the delivery", { cause });
    }
    message = { ...base, r2Key };
  } else {
    message = { ...base, payload: record.payload };
  }
  try {
    await env.INGEST.send(message, { contentType: "json" });
  } catch (cause) {
    throw new SluiceError("queue_unavailable", "could not enqueue the record; retry the delivery", { cause });
  }
  return message;
}

/** `claims/<source>/<stream>/dt=YYYY-MM-DD/<deliveryId>.json`: unique per delivery, never overwritten. */
export function claimCheckKey(record: Pick<AcceptedRecord, "source" | "stream" | "deliveryId" | "receivedAt">): string {
  const day = record.receivedAt.toISOString().slice(0, 10);
  return `claims/${record.source}/${record.stream}/dt=${day}/${record.deliveryId}.json`;
}
