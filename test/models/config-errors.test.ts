/**
 * Misconfigured strategies, snapshots, hooks and contracts fail the compile with a message that
 * names the file (and, in properties YAML, the line), never at run time or silently.
 */
import { describe, expect, it } from "vitest";
import { CompileError, compileManifest } from "../../src/models/compile/index.ts";

const model = (config: string) => ({ models: [{ path: "models/m.sql", sql: `{{ config(${config}) }}\nselect 1 as id` }] });
const incremental = (config: string) => model(`materialized='incremental', ${config}`);
const microbatch = (config: string) => incremental(`incremental_strategy='microbatch', ${config}`);
const snapshot = (config: string) => ({
  models: [],
  snapshots: [{ path: "snapshots/s.sql", sql: `{% snapshot s %}\n{{ config(${config}) }}\nselect 1 as id\n{% endsnapshot %}` }],
});
const contracted = (columns: string, config = "materialized='table'", contract = "\n    config:\n      contract: {enforced: true}") => ({
  models: [{ path: "models/m.sql", sql: `{{ config(${config}) }}\nselect 1 as id` }],
  properties: [{ path: "models/schema.yml", yaml: `version: 2\nmodels:\n  - name: m${contract}\n    columns:\n${columns}` }],
});

const cases: [string, Record<string, unknown>, string][] = [
  [
    "an unknown incremental strategy",
    incremental("incremental_strategy='upsert'"),
    "models/m.sql:1: incremental_strategy: Sluice does not support the upsert incremental strategy yet (Sluice runs append, delete+insert, merge and microbatch)",
  ],
  [
    "merge without a unique_key",
    incremental("incremental_strategy='merge'"),
    "models/m.sql: incremental_strategy: merge needs a unique_key",
  ],
  [
    "delete+insert without a unique_key",
    incremental("incremental_strategy='delete+insert'"),
    "models/m.sql: incremental_strategy: delete+insert needs a unique_key",
  ],
  [
    "append with a unique_key",
    incremental("incremental_strategy='append', unique_key='id'"),
    "models/m.sql: incremental_strategy: append takes no unique_key (Sluice runs delete+insert on one)",
  ],
  [
    "both merge column lists",
    incremental("incremental_strategy='merge', unique_key='id', merge_update_columns=['a'], merge_exclude_columns=['b']"),
    "models/m.sql: merge_update_columns and merge_exclude_columns cannot both be set",
  ],
  [
    "merge columns without merge",
    incremental("unique_key='id', merge_update_columns=['a']"),
    "models/m.sql: merge_update_columns applies only to incremental_strategy: merge",
  ],
  [
    "microbatch without event_time",
    microbatch("batch_size='day', begin='2024-01-01'"),
    "models/m.sql: incremental_strategy: microbatch needs event_time (the model's time column)",
  ],
  [
    "microbatch without batch_size",
    microbatch("event_time='at', begin='2024-01-01'"),
    "models/m.sql: incremental_strategy: microbatch needs batch_size (hour, day, month or year)",
  ],
  [
    "microbatch with an unknown batch_size",
    microbatch("event_time='at', batch_size='week', begin='2024-01-01'"),
    'models/m.sql: invalid config: batch_size: Invalid option: expected one of "hour"|"day"|"month"|"year"',
  ],
  [
    "microbatch without begin",
    microbatch("event_time='at', batch_size='day'"),
    "models/m.sql: incremental_strategy: microbatch needs begin (when the first batch starts, e.g. '2024-01-01')",
  ],
  [
    "microbatch with a begin that is no date",
    microbatch("event_time='at', batch_size='day', begin='last tuesday'"),
    `models/m.sql: begin: "last tuesday" is not an ISO 8601 date or timestamp (e.g. '2024-01-01' or '2024-01-01 00:00:00')`,
  ],
  ["lookback without microbatch", incremental("lookback=2"), "models/m.sql: lookback applies only to incremental_strategy: microbatch"],
  [
    "an unknown on_schema_change",
    incremental("on_schema_change='sync'"),
    'models/m.sql: invalid config: on_schema_change: Invalid option: expected one of "ignore"|"fail"|"append_new_columns"|"sync_all_columns"',
  ],
  [
    "a check snapshot without check_cols",
    snapshot("unique_key='id', strategy='check'"),
    "snapshots/s.sql: snapshot s with strategy='check' needs check_cols (a list of columns, or 'all')",
  ],
  [
    "a timestamp snapshot without updated_at",
    snapshot("unique_key='id', strategy='timestamp'"),
    "snapshots/s.sql: snapshot s with strategy='timestamp' needs updated_at",
  ],
  [
    "a snapshot without a unique_key",
    snapshot("strategy='check', check_cols='all'"),
    "snapshots/s.sql: snapshot s needs a strategy ('timestamp' with updated_at, or 'check' with check_cols) and a unique_key",
  ],
  [
    "an unknown snapshot strategy",
    snapshot("unique_key='id', strategy='hash'"),
    "snapshots/s.sql:2: strategy: Sluice does not support hash snapshots yet (snapshots use strategy='timestamp' or strategy='check')",
  ],
  [
    "an unknown hard_deletes",
    snapshot("unique_key='id', strategy='check', check_cols='all', hard_deletes='purge'"),
    'snapshots/s.sql: invalid config: hard_deletes: Invalid option: expected one of "ignore"|"invalidate"|"new_record"',
  ],
  [
    "invalidate_hard_deletes beside another hard_deletes",
    snapshot("unique_key='id', strategy='check', check_cols='all', hard_deletes='new_record', invalidate_hard_deletes=true"),
    "snapshots/s.sql: snapshot s sets invalidate_hard_deletes and hard_deletes='new_record'; keep hard_deletes",
  ],
  [
    "a snapshot in YAML whose relation is no ref or source",
    { models: [], properties: [{ path: "snapshots/s.yml", yaml: "snapshots:\n  - name: s\n    relation: raw_table\n" }] },
    `snapshots/s.yml:3: relation: a snapshot's relation is ref('name') or source('source', 'table'), not "raw_table"`,
  ],
  [
    "a hook that is not SQL text",
    model("materialized='table', post_hook=[1]"),
    "models/m.sql: invalid config: post_hook.0: Invalid input: expected string, received number",
  ],
  [
    "a contract column without data_type",
    contracted("      - name: id\n        data_type: integer\n      - name: label\n"),
    "models/schema.yml:9: contract: column label of m has no data_type; a model with an enforced contract declares every column's data_type",
  ],
  [
    "a contract on a view",
    contracted("      - name: id\n        data_type: integer\n", "materialized='view'"),
    "models/m.sql: contract: an enforced contract needs materialized='table' or 'incremental', not 'view'",
  ],
  [
    "a contract with no columns",
    { models: [{ path: "models/m.sql", sql: "{{ config(materialized='table', contract={'enforced': true}) }}\nselect 1 as id" }] },
    "models/m.sql: contract: an enforced contract needs the model's columns, with data_type, in properties YAML",
  ],
  [
    "a contract data_type that is no type",
    contracted("      - name: id\n        data_type: 'integer; drop table x'\n"),
    'models/schema.yml:8: contract: "integer; drop table x" is not a column type',
  ],
  [
    "constraints without an enforced contract",
    contracted("      - name: id\n        constraints:\n          - type: not_null\n", "materialized='table'", ""),
    "models/schema.yml:6: constraints apply only to a model with contract: {enforced: true}",
  ],
  [
    "a constraint SQLite cannot enforce",
    contracted(
      "      - name: id\n        data_type: integer\n        constraints:\n          - type: foreign_key\n            expression: other (id)\n",
    ),
    "models/schema.yml:10: constraints: Sluice does not enforce foreign_key constraints on D1 (it enforces not_null, unique, primary_key, check on columns; primary_key, unique and check on a model)",
  ],
];

describe("misconfigured materializations, snapshots, hooks and contracts", () => {
  it.each(cases)("refuses %s", async (_, files, message) => {
    const compile = () => compileManifest({ project: "bad", sources: {}, models: [], ...files });
    await expect(compile).rejects.toThrow(CompileError);
    await expect(compile).rejects.toThrow(new CompileError(message));
  });
});
