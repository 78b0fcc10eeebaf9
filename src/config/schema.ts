/**
 * The pipeline config: what a user declares in pipeline/sluice.config.ts. In: a plain object.
 * Out: a validated, defaulted `SluiceConfig`. Names that become SQL identifiers (sources,
 * streams, models, reports) are checked here, once, so no request can smuggle one in.
 */
import { z } from "zod";

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, "use lowercase letters, digits and underscores, starting with a letter");

/** Names an env var or secret; its value may be a comma-separated list (for rotation). */
const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "env var names are UPPER_SNAKE_CASE");

/** Seconds a signed timestamp may differ from now, in either direction, before it is stale. */
const tolerance = z.number().int().positive().max(86_400).default(300);

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
  });

export type StreamConfig = z.output<typeof streamSchema>;

/**
 * The generic verifier: an HMAC of the raw body (or of a template over a timestamp header and
 * the body) in one header, so most other providers need only config.
 */
export const genericSignatureSchema = z.object({
  header: z.string().min(1).transform((h) => h.toLowerCase()),
  prefix: z.string().default(""),
  algorithm: z.enum(["sha256", "sha1"]).default("sha256"),
  encoding: z.enum(["hex", "base64"]).default("hex"),
  timestamp: z
    .object({
      header: z.string().min(1).transform((h) => h.toLowerCase()),
      /** Unix seconds or milliseconds; values above 1e12 are read as milliseconds. */
      toleranceSeconds: tolerance,
    })
    .optional(),
  /** What is signed: `{body}` and `{timestamp}` are replaced. The default signs the body alone. */
  signedContent: z
    .string()
    .default("{body}")
    .refine((t) => t.includes("{body}"), "signedContent must include {body}"),
}).refine((s) => s.timestamp !== undefined || !s.signedContent.includes("{timestamp}"), {
  message: "signedContent uses {timestamp}, so declare signature.timestamp",
  path: ["signedContent"],
});

const sourceBase = {
  kind: z.literal("webhook").default("webhook"),
  description: z.string().optional(),
  /** Env vars holding the signing secrets; each may be a comma-separated list, for rotation. */
  secrets: z.array(envName).min(1),
  streams: z.record(name, streamSchema).refine((s) => Object.keys(s).length > 0, "declare at least one stream"),
  /** The catch-all stream: it receives every event that no other stream claims. */
  defaultStream: name,
};

export const webhookSourceSchema = z.discriminatedUnion("provider", [
  z.object({ ...sourceBase, provider: z.literal("stripe"), toleranceSeconds: tolerance }),
  z.object({ ...sourceBase, provider: z.literal("github") }),
  z.object({ ...sourceBase, provider: z.literal("shopify") }),
  z.object({ ...sourceBase, provider: z.literal("slack"), toleranceSeconds: tolerance }),
  z.object({ ...sourceBase, provider: z.literal("standard"), toleranceSeconds: tolerance }),
  z.object({
    ...sourceBase,
    provider: z.literal("generic"),
    signature: genericSignatureSchema,
    /** Header carrying the sender's event id, used as the record key. */
    keyHeader: z
      .string()
      .transform((h) => h.toLowerCase())
      .optional(),
    /** Where the routing value is read: a header, or a dot path into the JSON body. */
    route: z
      .union([
        z.object({ header: z.string().transform((h) => h.toLowerCase()) }),
        z.object({ path: z.string().min(1) }),
      ])
      .optional(),
  }),
]);

export const reportSchema = z.object({
  description: z.string(),
  model: name,
  /** Columns in the default order, each with a direction. */
  defaultOrder: z
    .array(z.object({ column: name, direction: z.enum(["asc", "desc"]).default("asc") }))
    .default([]),
  limit: z.number().int().positive().max(10_000).default(1000),
});

export const sluiceConfigSchema = z
  .object({
    sources: z.record(name, webhookSourceSchema),
    models: z
      .object({
        /** The cron expression on which the model runner builds every model. */
        schedule: z.string().min(9),
      })
      .default({ schedule: "*/15 * * * *" }),
    lake: z
      .object({
        /** The cron on which typed tables are compacted to Parquet in R2 (`lake/<table>/dt=…/`). */
        schedule: z.string().min(9),
      })
      .default({ schedule: "30 * * * *" }),
    reports: z.record(name, reportSchema).default({}),
    limits: z
      .object({
        /** Largest webhook body accepted, in bytes; larger bodies get 413. */
        maxBodyBytes: z.number().int().positive().default(10 * 1024 * 1024),
        /** Bodies above this size go to R2 and travel through the queue as a key. */
        claimCheckBytes: z.number().int().positive().max(110 * 1024).default(100 * 1024),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    for (const [sourceName, source] of Object.entries(config.sources)) {
      if (!(source.defaultStream in source.streams)) {
        ctx.addIssue({
          code: "custom",
          path: ["sources", sourceName, "defaultStream"],
          message: `"${source.defaultStream}" is not one of the source's streams`,
        });
      }
    }
  });

export type SluiceConfigInput = z.input<typeof sluiceConfigSchema>;
export type SluiceConfig = z.output<typeof sluiceConfigSchema>;
export type WebhookSource = SluiceConfig["sources"][string];
export type Provider = WebhookSource["provider"];
export type SourceOf<P extends Provider> = Extract<WebhookSource, { provider: P }>;
export type ReportDefinition = SluiceConfig["reports"][string];

/** Typed helper for pipeline/sluice.config.ts; validation happens when the Worker loads it. */
export function defineConfig(config: SluiceConfigInput): SluiceConfigInput {
  return config;
}
