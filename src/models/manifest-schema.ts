/**
 * The shape of the manifest, shared by the compile that writes it (compile/, at `npm run build`)
 * and the Worker that reads it: every node (models, seeds, tests, snapshots) with its resolved
 * config, in an order where each node comes after everything it depends on.
 */
import { z } from "zod";
import { cronSchema } from "../lib/cron.ts";
import { anomalySpecSchema } from "../quality/anomaly-tests.ts";
import { slaSchema } from "../quality/sla.ts";
import { selectorsSchema } from "./selector-tree.ts";

export const materializations = ["view", "table", "incremental", "ephemeral", "seed", "test", "snapshot"] as const;

export const incrementalStrategies = ["append", "delete+insert", "merge", "microbatch"] as const;
export const batchSizes = ["hour", "day", "month", "year"] as const;

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
    on_schema_change: z.enum(["ignore", "fail", "append_new_columns", "sync_all_columns"]).default("ignore"),
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
    /** Tests: the aggregate over the test's rows that counts its failures (dbt's default `count(*)`). */
    fail_calc: z.string().optional(),
    alias: z.string().optional(),
    /** Snapshots: the `timestamp` or `check` strategy, and what a row deleted from the source does. */
    strategy: z.enum(["timestamp", "check"]).optional(),
    updated_at: z.string().optional(),
    check_cols: z.union([z.literal("all"), z.array(z.string()).min(1)]).optional(),
    hard_deletes: z.enum(["ignore", "invalidate", "new_record"]).optional(),
    /** dbt's legacy spelling of `hard_deletes: invalidate`. */
    invalidate_hard_deletes: z.boolean().optional(),
    /** SQL run before and after the node is built, in order; `pre-hook`/`post-hook` in YAML. */
    pre_hook: z.array(z.string()).optional(),
    post_hook: z.array(z.string()).optional(),
    /** A model contract: the built table has exactly the declared columns and types. */
    contract: z
      .object({ enforced: z.boolean().default(false), alias_types: z.boolean().optional() })
      .strict()
      .optional(),
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
    /** `false`: a `--full-refresh` run leaves this model incremental; `true`: it is always rebuilt. */
    full_refresh: z.boolean().optional(),
    /** Without one: `delete+insert` with a unique_key, `append` without one. */
    incremental_strategy: z.enum(incrementalStrategies).optional(),
    merge_update_columns: z.array(z.string()).min(1).optional(),
    merge_exclude_columns: z.array(z.string()).min(1).optional(),
    /** Microbatch: the time column, the batch's length, how many batches back to redo, and the first. */
    event_time: z.string().optional(),
    batch_size: z.enum(batchSizes).optional(),
    lookback: z.number().int().nonnegative().optional(),
    begin: z.string().optional(),
    /** Sluice's SLA on a model: `fresh_within` and `ready_by` (quality/sla.ts); null clears a wider one. */
    sla: slaSchema.nullable().optional(),
  })
  .strict();

/** Config keys, with dbt's YAML spellings of the hooks (`pre-hook`), which the merge renames. */
export const configKeys = new Set([...Object.keys(nodeConfigSchema.shape), "pre-hook", "post-hook"]);
/** Config keys that only tests act on. */
export const testConfigKeys = new Set(["where", "limit", "warn_if", "error_if", "store_failures", "store_failures_as", "fail_calc"]);
/** What a unit test's `config:` (and the project file's `unit_tests:`) may set. */
export const unitTestConfigKeys = new Set(["tags", "enabled", "meta"]);

const testSpec = z.object({
  kind: z.enum(["generic", "singular"]),
  /** unique, not_null, accepted_values, relationships. */
  name: z.string().optional(),
  /** The node or source the test is attached to. */
  attachedTo: z.string().optional(),
  column: z.string().optional(),
  /** An anomaly test (`sluice.volume_anomalies`, …): what it measures and how it judges. */
  anomaly: anomalySpecSchema.optional(),
});

/**
 * A unit test's rows: a mapping per row (`format: dict`, the default), CSV text (`format: csv`) or a
 * query (`format: sql`). Rows are typed when the test runs, from the columns of the input they stand for.
 */
export const fixtureSchema = z.union([
  z.object({ rows: z.array(z.record(z.string(), z.unknown())) }),
  z.object({ csv: z.string() }),
  z.object({ sql: z.string() }),
]);

/** A dbt 1.8 unit test: the model's SQL run over given rows in place of its inputs, compared with the expected rows. */
const unitTestSchema = z.object({
  /** The unique id of the model under test. */
  model: z.string(),
  /** Each given input: `ref:<unique id>`, `source:<source>.<table>` or `this`, with its rows. */
  given: z.array(z.object({ input: z.string(), key: z.string(), fixture: fixtureSchema })),
  expect: fixtureSchema,
  overrides: z.object({
    macros: z.record(z.string(), z.unknown()).default({}),
    vars: z.record(z.string(), z.unknown()).default({}),
    env_vars: z.record(z.string(), z.string()).default({}),
  }),
});

export const resourceTypes = ["model", "seed", "test", "snapshot", "unit_test"] as const;

export const nodeSchema = z.object({
  uniqueId: z.string(),
  resourceType: z.enum(resourceTypes),
  name: z.string(),
  /** The package that defines it: the project, or a package installed in dbt_packages/. */
  package: z.string().default(""),
  /** Its schema, from `generate_schema_name`; `main` is the target's. */
  schema: z.string().default("main"),
  /** Its alias, from `generate_alias_name` (its name unless configured). */
  alias: z.string().optional(),
  /** The relation in D1: the alias in `main`, `<schema>__<alias>` in any other schema. */
  relation: z.string(),
  /** Path relative to the project folder, for messages and `path:` selection. */
  path: z.string(),
  /** dbt's fully qualified name: the project, the folders under its root path, the node's name. */
  fqn: z.array(z.string()).optional(),
  rawSql: z.string().default(""),
  config: nodeConfigSchema,
  description: z.string().default(""),
  columns: z.array(z.object({ name: z.string(), description: z.string().default("") })).default([]),
  /** An enforced contract: the columns in order, with their declared types and constraints as SQL. */
  contract: z
    .object({
      columns: z.array(z.object({ name: z.string(), dataType: z.string(), constraints: z.array(z.string()).default([]) })),
      constraints: z.array(z.string()).default([]),
    })
    .optional(),
  dependsOn: z.object({
    nodes: z.array(z.string()),
    sources: z.array(z.object({ source: z.string(), table: z.string() })),
  }),
  test: testSpec.optional(),
  unitTest: unitTestSchema.optional(),
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
  /** The source's schema (its `schema:`, else its name) and identifier; Sluice's streams are in `main`. */
  schema: z.string().default("main"),
  identifier: z.string().default(""),
  relation: z.string(),
  description: z.string().default(""),
  loadedAtField: z.string().default("_sluice_received_at"),
  /** The time column a microbatch model filters this table on. */
  eventTime: z.string().optional(),
  freshness: z
    .object({
      warn_after: z.object({ count: z.number().int().positive(), period: z.enum(["minute", "hour", "day"]) }).optional(),
      error_after: z.object({ count: z.number().int().positive(), period: z.enum(["minute", "hour", "day"]) }).optional(),
      filter: z.string().optional(),
    })
    .nullable()
    .default(null),
  /** Sluice's SLA (`fresh_within`), from the project file's `sources:`, the source's config or the table's. */
  sla: slaSchema.optional(),
  /**
   * What the SLA is judged on and its incidents are named by: `source:<source>` when it is the
   * source's (judged on the newest record of its tables that share it), `source:<source>.<table>`
   * when the table sets its own.
   */
  slaSubject: z.string().optional(),
});

export const manifestSchema = z.object({
  version: z.literal(2),
  project: z.string(),
  generatedAt: z.string(),
  vars: z.record(z.string(), z.unknown()).default({}),
  /** Each installed package's own project vars. */
  packageVars: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  /** The macro files of the project and its installed packages, rendered in the Worker. */
  macros: z.array(z.object({ package: z.string(), path: z.string(), sql: z.string() })).default([]),
  /** The project's `dispatch:` config. */
  dispatch: z.array(z.object({ macro_namespace: z.string(), search_order: z.array(z.string()) })).default([]),
  /** In run order: every node after its parents, and after the tests of its parents. */
  nodes: z.array(nodeSchema),
  sources: z.array(sourceTableSchema).default([]),
  docs: z.record(z.string(), z.string()).default({}),
  /** `on-run-start` and `on-run-end` of the project file: templates rendered and run once per run. */
  hooks: z.object({ onRunStart: z.array(z.string()), onRunEnd: z.array(z.string()) }).optional(),
  /** The project's selectors.yml: `--selector name`, and the default selector. */
  selectors: selectorsSchema.optional(),
  /** Parsed, not run: exposures, metrics, semantic models, saved queries, analyses, documentation-only keys. */
  parsedNotRun: z.array(z.object({ path: z.string(), line: z.number().int().optional(), what: z.string() })).default([]),
});

/** Data tests and unit tests: nodes that check, and build nothing. */
export function isTestNode(node: { resourceType: string }): boolean {
  return node.resourceType === "test" || node.resourceType === "unit_test";
}

export type Fixture = z.infer<typeof fixtureSchema>;
export type UnitTestSpec = z.infer<typeof unitTestSchema>;
export type NodeConfig = z.infer<typeof nodeConfigSchema>;
export type ModelConfig = NodeConfig;
export type ManifestNode = z.infer<typeof nodeSchema>;
export type ModelNode = ManifestNode;
export type SourceTable = z.infer<typeof sourceTableSchema>;
export type Manifest = z.infer<typeof manifestSchema>;
