/**
 * Queue message schemas, shared by producers and consumers. Every message has a version `v` and
 * a `kind`, so a consumer can tell what it holds and reject what it cannot read.
 */
import { z } from "zod";

/**
 * One record on its way to the loader. It carries the payload inline, or, for a body larger
 * than the claim-check threshold, the R2 key where the ingest route stored it.
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
    payload: z.unknown().optional(),
    r2Key: z.string().min(1).optional(),
  })
  .refine((m) => (m.payload === undefined) !== (m.r2Key === undefined), {
    message: "a record message carries exactly one of payload or r2Key",
  });

export type RecordMessage = z.infer<typeof recordMessageSchema>;
