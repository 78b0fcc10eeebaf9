/**
 * The pipeline config: what a user declares in pipeline/sluice.config.ts. In: a plain object.
 * Out: a validated, defaulted `SluiceConfig`. Names that become SQL identifiers (sources,
 * streams, models, reports) are checked here, once, so no request can smuggle one in.
 */
import { z } from "zod";
import { incidentKinds } from "../db/schema.ts";
import { cronSchema } from "../lib/cron.ts";
import { restSourceSchema } from "./pull-schema.ts";
import { type StreamConfig, streamSchema } from "./stream-schema.ts";

const name = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "use lowercase letters, digits and underscores, starting with a letter");

/** Names an env var or secret; its value may be a comma-separated list (for rotation). */
const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "env var names are UPPER_SNAKE_CASE");

/** Seconds a signed timestamp may differ from now, in either direction, before it is stale. */
const tolerance = z.number().int().positive().max(86_400).default(300);

export { type StreamConfig, type StreamRecord, streamSchema } from "./stream-schema.ts";

/**
 * The generic verifier: an HMAC of the raw body (or of a template over a timestamp header and
 * the body) in one header, so most other providers need only config.
 */
export const genericSignatureSchema = z
  .object({
    header: z
      .string()
      .min(1)
      .transform((h) => h.toLowerCase()),
    prefix: z.string().default(""),
    algorithm: z.enum(["sha256", "sha1"]).default("sha256"),
    encoding: z.enum(["hex", "base64"]).default("hex"),
    timestamp: z
      .object({
        header: z
          .string()
          .min(1)
          .transform((h) => h.toLowerCase()),
        /** Unix seconds or milliseconds; values above 1e12 are read as milliseconds. */
        toleranceSeconds: tolerance,
      })
      .optional(),
    /**
     * What is signed: `{body}`, `{timestamp}` and `{id}` (the value of the source's `keyHeader`)
     * are replaced. The default signs the body alone. With `{id}` the signature covers the record
     * key; without it, a key from `keyHeader` is bound to the body's hash instead.
     */
    signedContent: z
      .string()
      .default("{body}")
      .refine((t) => t.includes("{body}"), "signedContent must include {body}"),
  })
  .refine((s) => s.timestamp !== undefined || !s.signedContent.includes("{timestamp}"), {
    message: "signedContent uses {timestamp}, so declare signature.timestamp",
    path: ["signedContent"],
  });

/**
 * A rate limiting binding of the source's own, for a source that needs a limit other than
 * `WEBHOOK_LIMITER`'s: declare it as `[[ratelimits]]` in wrangler.toml (in every environment)
 * with the same period. Counts are kept per Cloudflare location.
 */
const rateLimitSchema = z.object({
  binding: envName,
  periodSeconds: z.union([z.literal(10), z.literal(60)]).default(10),
});

const sourceBase = {
  kind: z.literal("webhook").default("webhook"),
  /** Deliveries count against this binding instead of `WEBHOOK_LIMITER`. */
  rateLimit: rateLimitSchema.optional(),
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
  z
    .object({
      ...sourceBase,
      provider: z.literal("generic"),
      signature: genericSignatureSchema,
      /** Header carrying the sender's event id, used as the record key (signed if `signedContent` has `{id}`). */
      keyHeader: z
        .string()
        .min(1)
        .transform((h) => h.toLowerCase())
        .optional(),
      /** Where the routing value is read: a header, or a dot path into the JSON body. */
      route: z
        .union([z.object({ header: z.string().transform((h) => h.toLowerCase()) }), z.object({ path: z.string().min(1) })])
        .optional(),
    })
    .refine((source) => source.keyHeader !== undefined || !source.signature.signedContent.includes("{id}"), {
      message: "signedContent uses {id}, so declare keyHeader (the header holding the id)",
      path: ["signature", "signedContent"],
    }),
]);

const reportColumn = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "column names are identifiers");

/** A typed report parameter: its zod schema, and the column and comparison it filters on. */
const zodSchema = z.custom<z.ZodType>((value) => value instanceof z.ZodType, "schema must be a zod schema");

export const reportParamSchema = z.object({
  schema: zodSchema,
  column: reportColumn,
  op: z.enum(["=", "!=", ">", ">=", "<", "<="]).default("="),
  description: z.string().optional(),
});

export const reportSchema = z
  .object({
    description: z.string(),
    /** The model the report reads. */
    model: name,
    /** Typed parameters, e.g. `from: { schema: z.iso.date(), column: "day", op: ">=" }`. */
    params: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), reportParamSchema).default({}),
    /**
     * Columns a request may filter on by equality (`?currency=usd`): a list of names, which take
     * any text, or names with the zod schema a value must pass (`{ currency: z.enum(["usd", "eur"]) }`),
     * so that anything else, SQL included, is a 400.
     */
    filters: z
      .union([z.array(reportColumn), z.record(reportColumn, zodSchema)])
      .default([])
      .transform(
        (filters): Record<string, z.ZodType> =>
          Array.isArray(filters) ? Object.fromEntries(filters.map((column) => [column, z.string()])) : filters,
      ),
    /** Columns a request may sort on (`?sort=-revenue`). */
    sort: z.array(reportColumn).default([]),
    /** Columns that identify a row; they make keyset pagination exact. */
    key: z.array(reportColumn).default([]),
    /** Columns in the default order, each with a direction. */
    defaultOrder: z.array(z.object({ column: reportColumn, direction: z.enum(["asc", "desc"]).default("asc") })).default([]),
    /** The largest page, and the default one. */
    limit: z.number().int().positive().max(10_000).default(1000),
    /** Seconds a response may be cached (`Cache-Control: max-age`). */
    maxAge: z.number().int().min(0).max(86_400).default(60),
    /**
     * CSV output. `escapeFormulas` (on by default) prefixes `'` to every text cell that starts
     * with =, +, -, @, tab or carriage return, so a spreadsheet reads it as text, not a formula.
     */
    csv: z.object({ escapeFormulas: z.boolean().default(true) }).default({ escapeFormulas: true }),
  })
  .superRefine((report, ctx) => {
    const reserved = new Set(["format", "limit", "cursor", "sort"]);
    for (const name of [...Object.keys(report.params), ...Object.keys(report.filters)]) {
      if (reserved.has(name)) ctx.addIssue({ code: "custom", path: ["params"], message: `"${name}" is reserved for the API` });
    }
    for (const column of Object.keys(report.filters)) {
      if (Object.hasOwn(report.params, column))
        ctx.addIssue({ code: "custom", path: ["filters"], message: `"${column}" is both a param and a filter` });
    }
  });

export const sluiceConfigSchema = z
  .object({
    sources: z.record(name, webhookSourceSchema).default({}),
    /** Scheduled REST pulls, by source name; each resource is a stream. */
    pulls: z.record(name, restSourceSchema).default({}),
    models: z
      .object({
        /** The cron expression on which the model runner builds every model. */
        schedule: cronSchema,
      })
      .default({ schedule: "*/15 * * * *" }),
    lake: z
      .object({
        /** The cron on which typed tables are compacted to Parquet in R2 (`lake/<table>/dt=…/`). */
        schedule: cronSchema,
      })
      .default({ schedule: "30 * * * *" }),
    reports: z.record(name, reportSchema).default({}),
    /**
     * Tuning the automatic monitors (ops/monitor-settings.ts): a sensitivity for all of them, and
     * overrides by monitor id pattern (`*` is any run of characters), the last match winning.
     */
    monitors: z
      .object({
        sensitivity: z.number().positive().max(100).default(3),
        overrides: z
          .array(
            z
              .object({
                match: z.string().min(1),
                sensitivity: z.number().positive().max(100).optional(),
                direction: z.enum(["both", "spike", "drop"]).optional(),
                /** false: judged and charted, but never opens an incident. */
                incidents: z.boolean().optional(),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
    /** Where alerts go: each rule names the events it wants and the env var holding a webhook URL. */
    alerts: z
      .array(
        z.object({
          on: z.array(z.enum(incidentKinds)).min(1),
          webhook: z.string().regex(/^[A-Z][A-Z0-9_]*$/, "name the env var that holds the webhook URL"),
        }),
      )
      .default([]),
    /** Origins allowed to call the reporting API from a browser (CORS). */
    cors: z.object({ origins: z.array(z.string()).default([]) }).prefault({}),
    limits: z
      .object({
        /** Largest webhook body accepted, in bytes; larger bodies get 413. */
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .default(10 * 1024 * 1024),
        /**
         * A record whose queue message (its JSON text) would be larger than this goes to R2 and
         * travels through the queue as a key; a queue message holds at most 128 KB.
         */
        claimCheckBytes: z
          .number()
          .int()
          .positive()
          .max(110 * 1024)
          .default(100 * 1024),
        /** Deepest nesting of objects and arrays a webhook body may have; deeper bodies get 400 `too_deep`. */
        maxJsonDepth: z.number().int().positive().max(1000).default(64),
        /** Most keys one object of a webhook body may have; more get 400 `too_many_keys`. */
        maxObjectKeys: z.number().int().positive().max(100_000).default(1000),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    for (const name of Object.keys(config.pulls)) {
      if (Object.hasOwn(config.sources, name)) {
        ctx.addIssue({
          code: "custom",
          path: ["pulls", name],
          message: `"${name}" is already a webhook source; tables are named by source`,
        });
      }
    }
    for (const [sourceName, source] of Object.entries(config.sources)) {
      if (!(source.defaultStream in source.streams)) {
        ctx.addIssue({
          code: "custom",
          path: ["sources", sourceName, "defaultStream"],
          message: `"${source.defaultStream}" is not one of the source's streams`,
        });
      }
      for (const [streamName, stream] of Object.entries(source.streams)) {
        if (stream.disposition === "replace") {
          ctx.addIssue({
            code: "custom",
            path: ["sources", sourceName, "streams", streamName, "disposition"],
            message:
              `webhook stream ${sourceName}/${streamName} cannot use disposition "replace": a replace table is swapped in when a pull's run ` +
              `commits a full refresh, and webhooks have no such run, so its records would never reach the table; use "append" or "merge"`,
          });
        }
      }
    }
    checkTableNames(config, ctx);
  });

/**
 * The longest suffix Sluice adds to a raw table's name: `__staging` and then `__load_idx` (an index
 * Sluice no longer keeps, but still drops by that name from tables made before).
 */
const longestTableSuffix = "__staging__load_idx".length;

/**
 * Each stream lands in `raw_<source>__<stream>`, so `a__b` + `c` and `a` + `b__c` would share a
 * table (SQLite compares names without case); a replace stream's staging table is reserved too.
 * Model names are checked against these when the manifest is compiled.
 */
function checkTableNames(
  config: {
    sources: Record<string, { streams: Record<string, StreamConfig> }>;
    pulls: Record<string, { resources: Record<string, StreamConfig> }>;
  },
  ctx: z.RefinementCtx,
) {
  const owners = new Map<string, string>();
  const claim = (table: string, owner: string, path: (string | number)[]) => {
    const other = owners.get(table.toLowerCase());
    if (other !== undefined) {
      ctx.addIssue({
        code: "custom",
        path,
        message: `${owner} would land in table ${table}, which ${other} already uses; rename one of them`,
      });
    } else owners.set(table.toLowerCase(), owner);
  };
  const streams = [
    ...Object.entries(config.sources).flatMap(([source, s]) =>
      Object.entries(s.streams).map(([name, stream]) => ({ source, name, stream, path: ["sources", source, "streams", name] })),
    ),
    ...Object.entries(config.pulls).flatMap(([source, s]) =>
      Object.entries(s.resources).map(([name, stream]) => ({ source, name, stream, path: ["pulls", source, "resources", name] })),
    ),
  ];
  for (const { source, name, stream, path } of streams) {
    const table = `raw_${source}__${name}`;
    if (table.length + longestTableSuffix > 128) {
      ctx.addIssue({
        code: "custom",
        path,
        message: `stream ${source}/${name}: its table name ${table} is too long; keep source and stream names under ${128 - longestTableSuffix - 6} characters together`,
      });
    }
    claim(table, `stream ${source}/${name}`, path);
    if (stream.disposition === "replace") claim(`${table}__staging`, `the staging table of stream ${source}/${name}`, path);
  }
}

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
