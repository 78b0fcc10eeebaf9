/**
 * The shape of the manifest, shared by the compile that writes it (compile/, at `npm run build`)
 * and the Worker that reads it: every node (models, seeds, tests, snapshots) with its resolved
 * config, in an order where each node comes after everything it depends on.
 */
import { z } from "zod";
import { cronSchema } from "../lib/cron.ts";
import { selectorsSchema } from "./selector-tree.ts";

export const materializations = ["view", "table", "incremental", "ephemeral", "seed", "test", "snapshot"] as const;

/** Every config key a node may set, in `config()`, properties YAML or the project file. */
export const nodeConfigSchema = z
  .object({
    materialized: z.enum(materializations).default("view"),
    tags: z.array(z.string()).default([]),
    enabled: z.boolean().default(true),
    /** A cron on which this node is built (in addition to `models.schedule`). */
    schedule: cronSchema.optional(),
    unique_key: z.union([z.string(), z.array(z.string())]).optional(),
    /** Indexes on a table or incremental model, as dbt-postgres declares them. */
    indexes: z.array(z.object({ columns: z.array(z.string()).min(1), unique: z.boolean().default(false) })).default([]),
    on_schema_change: z.enum(["ignore", "fail", "append_new_columns"]).default("ignore"),
    /** Tests: `error` or `warn` (dbt also writes them in capitals). */
    severity: z.preprocess((v) => (typeof v === "string" ? v.toLowerCase() : v), z.enum(["error", "warn"])).default("error"),
    /** Tests: a condition on the tested relation's rows, as in dbt's `get_where_subquery`. */
    where: z.string().optional(),
    /** Tests: count at most this many failing rows. */
    limit: z.number().int().positive().optional(),
    /** Tests: comparisons on the failure count, such as `!=0` (dbt's default) or `>10`. */
    warn_if: z.string().optional(),
    error_if: z.string().optional(),
    /** Tests: keep the failing rows in a relation of the audit schema. */
    store_failures: z.boolean().optional(),
    store_failures_as: z.enum(["table", "view", "ephemeral"]).optional(),
    alias: z.string().optional(),
    /** Snapshots (`timestamp` strategy). */
    strategy: z.enum(["timestamp"]).optional(),
    updated_at: z.string().optional(),
    /** Accepted for dbt compatibility; D1 has one schema. */
    schema: z.string().optional(),
    target_schema: z.string().optional(),
    target_database: z.string().optional(),
    database: z.string().optional(),
    docs: z.unknown().optional(),
    persist_docs: z.unknown().optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
    column_types: z.record(z.string(), z.string()).optional(),
    quote_columns: z.boolean().optional(),
    /** Refused by the compile (unsupported.ts); kept so manifests compiled before then still parse. */
    full_refresh: z.boolean().optional(),
    /** What Sluice does anyway: `delete+insert` with a unique_key, `append` without one. */
    incremental_strategy: z.enum(["append", "delete+insert"]).optional(),
  })
  .strict();

export const configKeys = new Set(Object.keys(nodeConfigSchema.shape));
/** Config keys that only tests act on. */
export const testConfigKeys = new Set(["where", "limit", "warn_if", "error_if", "store_failures", "store_failures_as"]);

const testSpec = z.object({
  kind: z.enum(["generic", "singular"]),
  /** unique, not_null, accepted_values, relationships. */
  name: z.string().optional(),
  /** The node or source the test is attached to. */
  attachedTo: z.string().optional(),
  column: z.string().optional(),
});

export const nodeSchema = z.object({
  uniqueId: z.string(),
  resourceType: z.enum(["model", "seed", "test", "snapshot"]),
  name: z.string(),
  /** The relation in D1 (its alias, or its name). */
  relation: z.string(),
  /** Path relative to the project folder, for messages and `path:` selection. */
  path: z.string(),
  /** dbt's fully qualified name: the project, the folders under its root path, the node's name. */
  fqn: z.array(z.string()).optional(),
  rawSql: z.string().default(""),
  config: nodeConfigSchema,
  description: z.string().default(""),
  columns: z.array(z.object({ name: z.string(), description: z.string().default("") })).default([]),
  dependsOn: z.object({
    nodes: z.array(z.string()),
    sources: z.array(z.object({ source: z.string(), table: z.string() })),
  }),
  test: testSpec.optional(),
  /** Seed data, typed when the manifest is compiled. */
  seed: z
    .object({
      columns: z.array(z.object({ name: z.string(), type: z.enum(["integer", "real", "text", "bool", "timestamp", "json"]) })),
      rows: z.array(z.array(z.unknown())),
    })
    .optional(),
});

export const sourceTableSchema = z.object({
  uniqueId: z.string(),
  source: z.string(),
  table: z.string(),
  relation: z.string(),
  description: z.string().default(""),
  loadedAtField: z.string().default("_sluice_received_at"),
  freshness: z
    .object({
      warn_after: z.object({ count: z.number().int().positive(), period: z.enum(["minute", "hour", "day"]) }).optional(),
      error_after: z.object({ count: z.number().int().positive(), period: z.enum(["minute", "hour", "day"]) }).optional(),
      filter: z.string().optional(),
    })
    .nullable()
    .default(null),
});

export const manifestSchema = z.object({
  version: z.literal(2),
  project: z.string(),
  generatedAt: z.string(),
  vars: z.record(z.string(), z.unknown()).default({}),
  /** In run order: every node after its parents, and after the tests of its parents. */
  nodes: z.array(nodeSchema),
  sources: z.array(sourceTableSchema).default([]),
  docs: z.record(z.string(), z.string()).default({}),
  /** The project's selectors.yml: `--selector name`, and the default selector. */
  selectors: selectorsSchema.optional(),
  /** Parsed, not run: exposures, metrics, semantic models, saved queries, analyses, documentation-only keys. */
  parsedNotRun: z.array(z.object({ path: z.string(), line: z.number().int().optional(), what: z.string() })).default([]),
});

export type NodeConfig = z.infer<typeof nodeConfigSchema>;
export type ModelConfig = NodeConfig;
export type ManifestNode = z.infer<typeof nodeSchema>;
export type ModelNode = ManifestNode;
export type SourceTable = z.infer<typeof sourceTableSchema>;
export type Manifest = z.infer<typeof manifestSchema>;
