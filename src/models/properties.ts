/**
 * Properties YAML (the .yml files under models/): sources with freshness, models and seeds with their
 * descriptions, configs, columns and tests (`tests:` or `data_tests:`). Parsed leniently, as dbt
 * does, keeping only what Sluice uses; the parts it uses are checked.
 */
import { z } from "zod";

const duration = z.object({ count: z.number().int().positive(), period: z.enum(["minute", "hour", "day"]) });
const freshness = z
  .looseObject({ warn_after: duration.optional(), error_after: duration.optional(), filter: z.string().optional() })
  .nullable();

/** A test entry: `unique`, or `{ accepted_values: { values: [...], config: {...} } }`. */
export const testEntrySchema = z.union([z.string(), z.record(z.string(), z.unknown())]);
const testList = z.array(testEntrySchema).optional();

const constraintSchema = z.looseObject({
  type: z.string(),
  name: z.string().optional(),
  expression: z.string().optional(),
  columns: z.array(z.string()).optional(),
});

const columnSchema = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  data_type: z.string().optional(),
  constraints: z.array(constraintSchema).optional(),
  tests: testList,
  data_tests: testList,
});

const nodePropertiesSchema = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  columns: z.array(columnSchema).optional(),
  constraints: z.array(constraintSchema).optional(),
  /** A snapshot declared in YAML (dbt 1.9): `ref('name')` or `source('source', 'table')`. */
  relation: z.string().optional(),
  tests: testList,
  data_tests: testList,
});

/** A source's or source table's `config:` (dbt 1.10 moved these keys there). */
const sourceConfigSchema = z.looseObject({
  loaded_at_field: z.string().optional(),
  freshness: freshness.optional(),
  enabled: z.boolean().optional(),
  /** The column a microbatch model's batches filter this source on. */
  event_time: z.string().optional(),
});

const sourceTableSchema = z.looseObject({
  name: z.string(),
  config: sourceConfigSchema.optional(),
  identifier: z.string().optional(),
  description: z.string().optional(),
  loaded_at_field: z.string().optional(),
  freshness: freshness.optional(),
  columns: z.array(columnSchema).optional(),
  tests: testList,
  data_tests: testList,
});

/** A unit test's given input or expected output: rows inline (dict rows, or CSV or SQL text) in a `format`. */
const unitRowsSchema = z.looseObject({
  format: z.enum(["dict", "csv", "sql"]).default("dict"),
  rows: z.unknown().optional(),
  fixture: z.string().optional(),
});

/** A dbt 1.8 unit test; its shape is checked, with lines, by compile/unit-tests.ts before this reads it. */
const unitTestPropertiesSchema = z.looseObject({
  name: z.string(),
  model: z.string(),
  description: z.string().optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  given: z.array(unitRowsSchema.extend({ input: z.string() })).default([]),
  expect: unitRowsSchema,
  overrides: z
    .looseObject({
      macros: z.record(z.string(), z.unknown()).default({}),
      vars: z.record(z.string(), z.unknown()).default({}),
      env_vars: z.record(z.string(), z.unknown()).default({}),
    })
    .optional(),
});

export const propertiesFileSchema = z.looseObject({
  version: z.union([z.number(), z.string()]).optional(),
  sources: z
    .array(
      z.looseObject({
        name: z.string(),
        /** The schema its tables live in; dbt's default is the source's name. */
        schema: z.string().optional(),
        database: z.string().optional(),
        config: sourceConfigSchema.optional(),
        description: z.string().optional(),
        loaded_at_field: z.string().optional(),
        freshness: freshness.optional(),
        tables: z.array(sourceTableSchema).default([]),
      }),
    )
    .optional(),
  models: z.array(nodePropertiesSchema).optional(),
  seeds: z.array(nodePropertiesSchema).optional(),
  snapshots: z.array(nodePropertiesSchema).optional(),
  unit_tests: z.array(unitTestPropertiesSchema).optional(),
});

export type PropertiesFile = z.output<typeof propertiesFileSchema>;
export type NodeProperties = z.output<typeof nodePropertiesSchema>;
export type ColumnProperties = z.output<typeof columnSchema>;
export type Constraint = z.output<typeof constraintSchema>;
export type UnitTestProperties = z.output<typeof unitTestPropertiesSchema>;
export type UnitRows = z.output<typeof unitRowsSchema>;
export type TestEntry = z.output<typeof testEntrySchema>;

export function testsOf(entry: { tests?: TestEntry[] | undefined; data_tests?: TestEntry[] | undefined }): TestEntry[] {
  return [...(entry.tests ?? []), ...(entry.data_tests ?? [])];
}
