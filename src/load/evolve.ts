/**
 * Schema evolution, after dlt. In: a table's current columns and a batch of flat rows. Out: the
 * columns to add, and each row's values coerced to its columns, or the reason the row cannot be
 * stored. A new field adds a column; a value that cannot be coerced to its column's type goes to
 * the variant column `<col>__v_<type>`; a frozen stream quarantines what does not fit.
 */
import { fitColumnName } from "../config/columns.ts";
import { type Column, type ColumnType, coerce, typeOfValue } from "../db/column-types.ts";
import type { FlatRow } from "./flatten.ts";

/** D1 allows 100 columns a table; fields past the cap are kept whole in `_sluice_overflow`. */
export const maxUserColumns = 94;
export const overflowColumn: Column = { name: "_sluice_overflow", type: "json" };

export type RowPlan = { ok: true; values: Map<string, unknown> } | { ok: false; reason: string };

export interface EvolutionPlan {
  /** Columns the batch adds, in the order they were first seen. */
  added: Column[];
  rows: RowPlan[];
}

export function planEvolution(existing: readonly Column[], rows: readonly FlatRow[], contract: "evolve" | "freeze"): EvolutionPlan {
  const known = new Map(existing.map((column) => [column.name, column.type]));
  const added: Column[] = [];
  let userColumns = existing.filter((column) => !column.name.startsWith("_sluice_")).length;

  const planRow = (row: FlatRow): RowPlan => {
    const values = new Map<string, unknown>();
    const additions: Column[] = [];
    const overflow: Record<string, unknown> = {};
    const typeOf = (name: string) => known.get(name) ?? additions.find((c) => c.name === name)?.type;

    for (const [name, value] of row) {
      const type = typeOfValue(value);
      if (type === null) {
        if (typeOf(name) !== undefined) values.set(name, null);
        continue;
      }
      let target = name;
      let targetType = typeOf(name);
      if (targetType !== undefined && coerce(value, targetType, type) === undefined) {
        target = variantName(name, type);
        targetType = typeOf(target);
      }
      if (targetType === undefined) {
        if (contract === "freeze") {
          return {
            ok: false,
            reason:
              target === name
                ? `field ${name} is not in the frozen schema`
                : `${name} holds a ${type}, which its column cannot store, and the schema is frozen`,
          };
        }
        if (userColumns + additions.length >= maxUserColumns) {
          overflow[name] = value;
          continue;
        }
        additions.push({ name: target, type });
        targetType = type;
      }
      values.set(target, coerce(value, targetType as ColumnType, type));
    }

    if (Object.keys(overflow).length > 0) {
      if (!known.has(overflowColumn.name) && !additions.some((c) => c.name === overflowColumn.name)) additions.push(overflowColumn);
      values.set(overflowColumn.name, JSON.stringify(overflow));
    }
    for (const column of additions) {
      known.set(column.name, column.type);
      added.push(column);
      if (!column.name.startsWith("_sluice_")) userColumns += 1;
    }
    return { ok: true, values };
  };

  return { added, rows: rows.map(planRow) };
}

export function variantName(column: string, type: ColumnType): string {
  return fitColumnName(`${column}__v_${type}`);
}
