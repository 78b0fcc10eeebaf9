/**
 * A stream's declaration: how its records are matched, typed, transformed and written. Webhook
 * streams and REST resources share it.
 */
import { z } from "zod";
import { declaredFields } from "./columns.ts";

/** A record as it reaches a stream's transforms: the parsed JSON of one event. */
export type StreamRecord = Record<string, unknown>;

const jsonPath = z.string().regex(/^(\$\.)?[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, "use a dot path such as data.object.id");
const columnName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "column names are lowercase snake_case");

export const streamSchema = z
  .object({
    description: z.string().optional(),
    /**
     * The events this stream claims, by the provider's routing value: Stripe's object type,
     * GitHub's event, Shopify's topic, Slack's event type, Standard Webhooks' `type`. `*` matches
     * any run of characters (`orders/*`). Events no stream claims go to the default stream.
     */
    match: z.array(z.string().min(1)).default([]),
    /**
     * The record's shape as a zod schema. Its fields become typed columns from the first load;
     * a record that fails it is quarantined. Without a schema the columns are inferred.
     */
    schema: z.custom<z.ZodType>((value) => value instanceof z.ZodType, "schema must be a zod schema").optional(),
    /** Infer columns from the data (the default when there is no schema). */
    infer: z.boolean().optional(),
    /** Columns taken from JSON paths instead of flattening the whole record: `{ amount: "data.object.amount" }`. */
    columns: z.record(columnName, jsonPath).optional(),
    /** Nested objects are flattened with `__` down to this depth; deeper values are JSON text. */
    maxDepth: z.number().int().min(0).max(8).default(2),
    /**
     * The most fields a record may flatten to; a record with more is quarantined, whole, with the
     * reason. (A table holds at most 94 of them as columns; the rest go to `_sluice_overflow`.)
     */
    maxFields: z.number().int().positive().max(100_000).default(1000),
    /** `evolve` adds columns and variant columns; `freeze` quarantines records that do not fit. */
    contract: z.enum(["evolve", "freeze"]).default("evolve"),
    disposition: z.enum(["append", "merge", "replace"]).default("append"),
    /** Columns that identify a row, for `merge`. */
    primaryKey: z.array(columnName).min(1).optional(),
    /** For `merge`: a stored row is only overwritten by a record whose cursor is not older. */
    cursor: columnName.optional(),
    /** Keeps records for which it returns true (dlt's add_filter). */
    filter: z.custom<(record: StreamRecord) => boolean>((v) => typeof v === "function").optional(),
    /** Rewrites a record, or drops it by returning null (dlt's add_map). */
    map: z.custom<(record: StreamRecord) => StreamRecord | null | undefined>((v) => typeof v === "function").optional(),
    /** JSON paths removed before loading. */
    redact: z.array(jsonPath).default([]),
    /** JSON paths replaced by a salted SHA-256 (salt from SLUICE_HASH_SALT), so joins still work. */
    hash: z.array(jsonPath).default([]),
    /** Store the transformed record in the raw zone instead of the original. */
    redactRaw: z.boolean().default(false),
  })
  .superRefine((stream, ctx) => {
    if (stream.disposition === "merge" && !stream.primaryKey) {
      ctx.addIssue({ code: "custom", path: ["primaryKey"], message: "a merge stream needs a primaryKey" });
    }
    if (stream.cursor && stream.disposition !== "merge") {
      ctx.addIssue({ code: "custom", path: ["cursor"], message: "cursor applies to merge streams only" });
    }
    // The declared columns are read now, so a schema that cannot give them fails config validation.
    try {
      declaredFields(stream);
    } catch (error) {
      ctx.addIssue({ code: "custom", path: ["schema"], message: (error as Error).message });
    }
  });

export type StreamConfig = z.output<typeof streamSchema>;
