/**
 * Hands an accepted record to the `INGEST` queue, as JSON text. A record whose message would be
 * above the claim-check threshold is put in R2 first (its raw body, as received) and the message
 * carries only its key, since a queue message holds at most 128 KB.
 */
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { type RecordMessage, sendMessage, toRecordMessage } from "../messages.ts";

export interface AcceptedRecord {
  source: string;
  stream: string;
  key: string;
  /** Whether the signature covers the key (false for an id from an unsigned header). */
  keySigned: boolean;
  /** Hex SHA-256 of the raw body. */
  bodyHash: string;
  deliveryId: string;
  receivedAt: Date;
  /** The raw body as received, and its parsed value. */
  body: Uint8Array<ArrayBuffer>;
  payload: unknown;
}

export async function enqueueRecord(runtime: Runtime, record: AcceptedRecord): Promise<RecordMessage> {
  const { env, config } = runtime;
  let message: RecordMessage;
  try {
    message = await toRecordMessage(
      env.RAW,
      {
        source: record.source,
        stream: record.stream,
        key: record.key,
        keySigned: record.keySigned,
        bodyHash: record.bodyHash,
        deliveryId: record.deliveryId,
        receivedAt: record.receivedAt.toISOString(),
      },
      record.payload,
      { body: record.body, threshold: config.limits.claimCheckBytes },
    );
  } catch (cause) {
    throw new SluiceError("storage_unavailable", "could not store the payload; retry the delivery", { cause });
  }
  try {
    await sendMessage(env.INGEST, message);
  } catch (cause) {
    throw new SluiceError("queue_unavailable", "could not enqueue the record; retry the delivery", { cause });
  }
  return message;
}
