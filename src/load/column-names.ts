/**
 * Which column each field of a record lands in, for one table. In: the table's stored field map
 * (`_sluice_columns`), its columns, and the fields of each record. Out: rows keyed by column,
 * and the map entries a load adds.
 *
 * A field in the map keeps its column. A new field takes, by precedence: its own name when its
 * path is plain; else the column the old rule gave it, if the table has that column and no field
 * owns it (so a table created before field maps keeps receiving its fields); else its rule name,
 * the normalised name plus a hash of its path (`columnOf`). Names come from the field alone, so
 * key order and the other keys of a record never move a field. Only when two fields want one name
 * (plain paths `a__b` and `a.b`, or two colliding hashes) does one of them, the weaker claim and
 * then the larger path, fall back to `<name>_2`, `_3`, …; the map then keeps it there. Linear in
 * the number of fields.
 */
import { columnOf, type FieldName, fitColumnName, legacyColumnOf } from "../config/columns.ts";
import type { FlatField, FlatRow } from "./flatten.ts";

export interface ColumnNamer {
  /** The columns of `names`, in order, giving new fields their columns. */
  columnsOf(names: readonly FieldName[]): string[];
  /** A record's fields as a row keyed by column. */
  row(fields: readonly FlatField[]): FlatRow;
  /** The map entries to store: fields this load named whose columns the table has after it. */
  newEntries(tableColumns: ReadonlySet<string>): [field: string, column: string][];
}

interface Bid {
  name: FieldName;
  want: string;
  /** 0: its own plain name; 1: a column the old rule made; 2: its rule name. Lower wins. */
  rank: number;
}

export function columnNamer(stored: ReadonlyMap<string, string>, existing: ReadonlySet<string>): ColumnNamer {
  const columnOfField = new Map(stored);
  const owners = new Set(stored.values());
  const named = new Map<string, string>();

  const assign = (name: FieldName, column: string) => {
    columnOfField.set(name.field, column);
    owners.add(column);
    named.set(name.field, column);
  };

  /** Each wanted name goes to its best bid; returns the bids that got nothing. */
  const auction = (bids: readonly Bid[]): Bid[] => {
    const best = new Map<string, Bid>();
    for (const bid of bids) {
      if (owners.has(bid.want)) continue;
      const rival = best.get(bid.want);
      if (!rival || bid.rank < rival.rank || (bid.rank === rival.rank && bid.name.field < rival.name.field)) best.set(bid.want, bid);
    }
    for (const [want, bid] of best) assign(bid.name, want);
    return bids.filter((bid) => best.get(bid.want) !== bid);
  };

  const nameNew = (names: readonly FieldName[]) => {
    const first = names.map((name): Bid => {
      if (name.plain) return { name, want: columnOf(name), rank: 0 };
      const legacy = legacyColumnOf(name);
      if (existing.has(legacy) && !owners.has(legacy)) return { name, want: legacy, rank: 1 };
      return { name, want: columnOf(name), rank: 2 };
    });
    const second = auction(first).map((bid): Bid => (bid.rank === 1 ? { name: bid.name, want: columnOf(bid.name), rank: 2 } : bid));
    const left = auction(second);
    // What is left wanted a name another field holds: rare, and ordered by path so it is stable.
    for (const bid of left.sort((a, b) => (a.name.field < b.name.field ? -1 : 1))) {
      const base = columnOf(bid.name);
      let column = fitColumnName(`${base}_2`);
      for (let n = 3; owners.has(column) || existing.has(column); n++) column = fitColumnName(`${base}_${n}`);
      assign(bid.name, column);
    }
  };

  const columnsOf = (names: readonly FieldName[]): string[] => {
    const fresh = names.filter((name) => !columnOfField.has(name.field));
    if (fresh.length > 0) nameNew(fresh);
    return names.map((name) => columnOfField.get(name.field)!);
  };

  return {
    columnsOf,
    row(fields) {
      const columns = columnsOf(fields.map((field) => field.name));
      const row: FlatRow = new Map();
      for (const [i, field] of fields.entries()) row.set(columns[i]!, field.value);
      return row;
    },
    newEntries(tableColumns) {
      return [...named].filter(([, column]) => tableColumns.has(column));
    },
  };
}
