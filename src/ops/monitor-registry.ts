/**
 * Every monitor Sluice keeps, for the ops API. In: the pipeline config, the typed tables' columns,
 * the manifest and what builds stored. Out: the stream monitors of each declared stream
 * (monitors.ts), the null-rate monitor of each column of each declared stream's table
 * (table-monitors.ts: the columns it has now, and any that have stored buckets), and the test
 * monitors (test-monitors.ts), in that order.
 */
import type { Runtime } from "../env.ts";
import { getManifest } from "../models/manifest.ts";
import { storedMonitorIds } from "./monitor-buckets.ts";
import { type Monitor, streamMonitors } from "./monitors.ts";
import { tableMonitorId } from "./table-monitors.ts";
import { monitoredTables } from "./table-scan.ts";
import { listTestMonitors, type TestMonitor } from "./test-monitors.ts";

export interface TableMonitor {
  id: string;
  kind: "null_rate";
  table: string;
  column: string;
}

export type AnyMonitor = Monitor | TableMonitor | TestMonitor;

export async function allMonitors(runtime: Runtime): Promise<AnyMonitor[]> {
  const [tables, tests] = await Promise.all([tableMonitors(runtime), listTestMonitors(runtime.env.DB, getManifest())]);
  return [...streamMonitors(runtime.config), ...tables, ...tests];
}

const tableMonitorPattern = /^table:(\w+)\.(\w+):null_rate$/;

async function tableMonitors(runtime: Runtime): Promise<TableMonitor[]> {
  const [tables, stored] = await Promise.all([monitoredTables(runtime.env.DB, runtime.config), storedMonitorIds(runtime.env.DB, "table:")]);
  const storedColumns = new Map<string, string[]>();
  for (const id of stored) {
    const [, table, column] = tableMonitorPattern.exec(id) ?? [];
    if (table && column) storedColumns.set(table, [...(storedColumns.get(table) ?? []), column]);
  }
  return tables.flatMap(({ table, columns }) => {
    // A column a full refresh dropped keeps its monitor while its history does.
    const all = [...columns, ...(storedColumns.get(table) ?? []).filter((c) => !columns.includes(c))];
    return all.map((column) => ({ id: tableMonitorId(table, column), kind: "null_rate" as const, table, column }));
  });
}
