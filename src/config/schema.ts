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

/**
 * A signature carried in one header as HMAC of the raw body: `<prefix><hex|base64>`.
 * This is the generic verifier; provider-specific verifiers add their own schemas.
 */
export const hmacVerifierSchema = z.object({
  kind: z.literal("hmac"),
  header: z.string().min(1).transform((h) => h.toLowerCase()),
  prefix: z.string().default(""),
  algorithm: z.enum(["sha256"]).default("sha256"),
  encoding: z.enum(["hex"]).default("hex"),
});

export const streamSchema = z.object({
  description: z.string().optional(),
  /** `json` bodies must parse as JSON; the parsed value is the record. */
  format: z.enum(["json"]).default("json"),
});

export const webhookSourceSchema = z.object({
  kind: z.literal("webhook"),
  description: z.string().optional(),
  /** Env vars holding the signing secrets; each may be a comma-separated list. */
  secrets: z.array(envName).min(1),
  verifier: hmacVerifierSchema,
  /** Header carrying the sender's event id, used as the record key. */
  keyHeader: z
    .string()
    .transform((h) => h.toLowerCase())
    .optional(),
  streams: z.record(name, streamSchema).refine((s) => Object.keys(s).length > 0, "declare at least one stream"),
  /** The stream that receives events no other rule claims. */
  defaultStream: name,
});

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
    reports: z.record(name, reportSchema).default({}),
    limits: z
      .object({
        /** Largest webhook body accepted, in bytes; larger bodies get 413. */
        maxBodyBytes: z.number().int().positive().default(1024 * 1024),
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
export type ReportDefinition = SluiceConfig["reports"][string];

/** Typed helper for pipeline/sluice.config.ts; validation happens when the Worker loads it. */
export function defineConfig(config: SluiceConfigInput): SluiceConfigInput {
  return config;
}
