/**
 * What a node's merged config must hold before it can run: the settings each incremental strategy
 * and snapshot strategy needs, and the columns of an enforced contract. In: a node with its merged
 * config and the compile's inputs. Out: the node, with its contract's columns; a CompileError
 * naming the file (and, for properties YAML, the line) otherwise.
 */

import { beginIso } from "../batches.ts";
import type { ManifestNode } from "../manifest-schema.ts";
import type { Constraint } from "../properties.ts";
import type { CompileInputs } from "./inputs.ts";
import { CompileError } from "./nodes.ts";
import { yamlAt } from "./unsupported.ts";

const microbatchOnly = ["batch_size", "lookback", "begin"] as const;

/** An incremental model's strategy settings. */
export function checkIncrementalConfig(path: string, config: ManifestNode["config"]): void {
  const strategy = config.incremental_strategy;
  const fail = (message: string): never => {
    throw new CompileError(`${path}: ${message}`);
  };
  if (strategy === "append" && config.unique_key !== undefined)
    fail("incremental_strategy: append takes no unique_key (Sluice runs delete+insert on one)");
  if ((strategy === "delete+insert" || strategy === "merge") && config.unique_key === undefined)
    fail(`incremental_strategy: ${strategy} needs a unique_key`);
  if (config.merge_update_columns && config.merge_exclude_columns)
    fail("merge_update_columns and merge_exclude_columns cannot both be set");
  for (const key of ["merge_update_columns", "merge_exclude_columns"] as const)
    if (config[key] && strategy !== "merge") fail(`${key} applies only to incremental_strategy: merge`);
  if (strategy === "microbatch") {
    if (!config.event_time) fail("incremental_strategy: microbatch needs event_time (the model's time column)");
    if (!config.batch_size) fail("incremental_strategy: microbatch needs batch_size (hour, day, month or year)");
    if (!config.begin) fail("incremental_strategy: microbatch needs begin (when the first batch starts, e.g. '2024-01-01')");
    if (Number.isNaN(Date.parse(beginIso(config.begin!))))
      fail(`begin: "${config.begin}" is not an ISO 8601 date or timestamp (e.g. '2024-01-01' or '2024-01-01 00:00:00')`);
  } else {
    for (const key of microbatchOnly) if (config[key] !== undefined) fail(`${key} applies only to incremental_strategy: microbatch`);
  }
}

export function checkSnapshotConfig(path: string, name: string, config: ManifestNode["config"]): void {
  const fail = (message: string): never => {
    throw new CompileError(`${path}: snapshot ${name} ${message}`);
  };
  if (!config.strategy || !config.unique_key)
    fail("needs a strategy ('timestamp' with updated_at, or 'check' with check_cols) and a unique_key");
  if (config.strategy === "timestamp" && !config.updated_at) fail("with strategy='timestamp' needs updated_at");
  if (config.strategy === "check" && !config.check_cols) fail("with strategy='check' needs check_cols (a list of columns, or 'all')");
  if (config.strategy === "timestamp" && config.check_cols) fail("with strategy='timestamp' takes no check_cols");
  if (config.invalidate_hard_deletes && config.hard_deletes && config.hard_deletes !== "invalidate")
    fail(`sets invalidate_hard_deletes and hard_deletes='${config.hard_deletes}'; keep hard_deletes`);
  if (config.invalidate_hard_deletes) config.hard_deletes = "invalidate";
  delete config.invalidate_hard_deletes;
}

/**
 * An enforced contract: a table or incremental model whose properties declare every column with
 * its data_type. The columns keep their order; constraints become SQL that SQLite enforces.
 */
export function contractOf(node: ManifestNode, inputs: CompileInputs): ManifestNode["contract"] {
  const located = locateProperties(inputs, node.name);
  const enforced = node.config.contract?.enforced === true;
  if (!enforced) {
    if (located) {
      const column = located.props.columns?.findIndex((c) => c.constraints !== undefined) ?? -1;
      const keys = located.props.constraints ? ["constraints"] : column !== -1 ? ["columns", column, "constraints"] : undefined;
      if (keys) throw new CompileError(`${located.at(keys)}: constraints apply only to a model with contract: {enforced: true}`);
    }
    return undefined;
  }
  if (node.config.materialized !== "table" && node.config.materialized !== "incremental")
    throw new CompileError(
      `${node.path}: contract: an enforced contract needs materialized='table' or 'incremental', not '${node.config.materialized}'`,
    );
  const columns = located?.props.columns ?? [];
  if (!located || columns.length === 0)
    throw new CompileError(`${node.path}: contract: an enforced contract needs the model's columns, with data_type, in properties YAML`);
  const untyped = columns.findIndex((c) => !c.data_type);
  if (untyped !== -1)
    throw new CompileError(
      `${located.at(["columns", untyped])}: contract: column ${columns[untyped]!.name} of ${node.name} has no data_type; ` +
        "a model with an enforced contract declares every column's data_type",
    );
  const badType = columns.findIndex((c) => !/^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+(\s*,\s*\d+)?\s*\))?$/.test(c.data_type!));
  if (badType !== -1)
    throw new CompileError(
      `${located.at(["columns", badType, "data_type"])}: contract: "${columns[badType]!.data_type}" is not a column type`,
    );
  return {
    columns: columns.map((column) => ({
      name: column.name,
      dataType: column.data_type!,
      constraints: (column.constraints ?? []).map((c) => columnConstraint(c)),
    })),
    constraints: (located.props.constraints ?? []).map((c) => tableConstraint(c)),
  };
}

function named(constraint: Constraint): string {
  return constraint.name ? `CONSTRAINT ${quote(constraint.name)} ` : "";
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

function columnConstraint(constraint: Constraint): string {
  switch (constraint.type) {
    case "not_null":
      return `${named(constraint)}NOT NULL`;
    case "unique":
      return `${named(constraint)}UNIQUE`;
    case "primary_key":
      return `${named(constraint)}PRIMARY KEY`;
    default:
      return `${named(constraint)}CHECK (${constraint.expression})`;
  }
}

function tableConstraint(constraint: Constraint): string {
  const columns = (constraint.columns ?? []).map(quote).join(", ");
  switch (constraint.type) {
    case "unique":
      return `${named(constraint)}UNIQUE (${columns})`;
    case "primary_key":
      return `${named(constraint)}PRIMARY KEY (${columns})`;
    default:
      return `${named(constraint)}CHECK (${constraint.expression})`;
  }
}

/** A model's properties entry with `at(keys)`, the `path:line` of a key inside it. */
function locateProperties(inputs: CompileInputs, name: string) {
  for (const { path, yaml, file } of inputs.properties) {
    const index = (file.models ?? []).findIndex((m) => m.name === name);
    if (index === -1) continue;
    const props = file.models![index]!;
    return { props, at: (keys: (string | number)[]) => yamlAt(path, yaml, ["models", index, ...keys]) };
  }
  return undefined;
}

/** A contracted model's data_type entries are used, not documentation: drop their notices. */
export function dropUsedDataTypeNotices(inputs: CompileInputs, contracted: ReadonlySet<string>): void {
  const kept = inputs.notRun.filter((n) => n.dataTypeOf === undefined || !contracted.has(n.dataTypeOf));
  inputs.notRun.splice(0, inputs.notRun.length, ...kept);
}
