/**
 * SLAs in the compile. In: `sla` where a project writes it (a model's `config()`, properties YAML
 * `config:` of a model, source or source table, `+sla` in the project file's `models:` and
 * `sources:` trees) and the source tables read so far. Out: a refusal naming the file, line and node
 * for a bad value or a resource that cannot have one; each source table's SLA, merged in dbt's order.
 *
 * A source table's SLA is the last set of: the project file's `sources:` tree, path-scoped as dbt
 * scopes source configs (project, the folders of the properties file under the model path, source,
 * table), then the source's `config:`, then the table's (the table over the source, as for
 * freshness; `sla: null` clears a wider one). Set at the table's own level (its `config:` or its leaf
 * in the tree), it is judged on that table alone; otherwise on the newest record of the source's
 * tables that share it.
 */

import { type Sla, slaProblem } from "../../quality/sla.ts";
import type { SourceTable } from "../manifest-schema.ts";
import { type ProjectFile, treeConfigs } from "../project-file.ts";
import type { PropertiesFile } from "../properties.ts";
import { fqnOf } from "./nodes.ts";

export type SlaResource = "model" | "source" | "seed" | "snapshot" | "test" | "unit test";

/** Why `value` cannot be the `sla` of this kind of resource, or undefined when it can. */
export function slaRefusal(value: unknown, resource: SlaResource): string | undefined {
  if (resource !== "model" && resource !== "source")
    return value === null ? undefined : `sla: only models and sources have an SLA, not a ${resource}`;
  return slaProblem(value, resource);
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * The first mistake in the project file's `sources:` tree, with the keys that lead to it: Sluice
 * reads `+sla` there, and folders, sources and tables are mappings.
 */
export function sourceTreeProblem(
  tree: Record<string, unknown>,
  keys: (string | number)[],
): { keys: (string | number)[]; message: string } | undefined {
  for (const [key, value] of Object.entries(tree)) {
    const at = [...keys, key];
    if (key === "+sla") {
      const problem = slaProblem(value, "source");
      if (problem) return { keys: at, message: problem };
    } else if (key.startsWith("+"))
      return {
        keys: at,
        message: `${key}: Sluice reads only +sla in the project file's sources: (set ${key.slice(1)} in the source's config: in properties YAML)`,
      };
    else if (!isRecord(value))
      return {
        keys: at,
        message: `unknown config key "${key}" in sources: (a config takes a +; folders, sources and tables are mappings)`,
      };
    else {
      const inner = sourceTreeProblem(value, at);
      if (inner) return inner;
    }
  }
  return undefined;
}

interface Layer {
  sla: unknown;
  ownTable: boolean;
}

/** Sets `sla` and `slaSubject` on every source table that has an SLA. */
export function applySourceSlas(
  project: ProjectFile,
  projectPath: string,
  properties: readonly { path: string; file: PropertiesFile }[],
  tables: SourceTable[],
): void {
  const tree = isRecord(project.sources) ? project.sources : {};
  const declared = new Map<string, { path: string; source: unknown; table: unknown }>();
  for (const { path, file } of properties)
    for (const source of file.sources ?? [])
      for (const table of source.tables)
        declared.set(`${source.name}.${table.name}`, { path, source: source.config?.sla, table: table.config?.sla });
  for (const table of tables) {
    const entry = declared.get(`${table.source}.${table.table}`);
    const fqn = [
      ...(entry ? fqnOf(project.name, entry.path, "model-paths", project).slice(0, -1) : [project.name]),
      table.source,
      table.table,
    ];
    const layers: Layer[] = treeConfigs(tree, fqn, projectPath).map((layer, depth) => ({ sla: layer.sla, ownTable: depth === fqn.length }));
    if (entry) layers.push({ sla: entry.source, ownTable: false }, { sla: entry.table, ownTable: true });
    const last = layers.findLast((layer) => layer.sla !== undefined);
    if (!last || last.sla === null) continue;
    table.sla = last.sla as Sla;
    table.slaSubject = last.ownTable ? `source:${table.source}.${table.table}` : `source:${table.source}`;
  }
  // Tables judged together share one SLA; where a source's tables inherit different ones (from
  // different folders of the tree), each is judged on its own.
  const bySubject = new Map<string, SourceTable[]>();
  for (const table of tables) if (table.slaSubject) bySubject.set(table.slaSubject, [...(bySubject.get(table.slaSubject) ?? []), table]);
  for (const group of bySubject.values())
    if (new Set(group.map((t) => JSON.stringify(t.sla))).size > 1)
      for (const table of group) table.slaSubject = `source:${table.source}.${table.table}`;
}
