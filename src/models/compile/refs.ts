/**
 * Refs and relations. In: the node set, with each node's refs by name, and the source tables.
 * Out: refs as unique ids. A ref to nothing is a CompileError naming the file and line; so is a
 * model, seed or snapshot whose relation is a stream's table, which building it would replace.
 */
import type { SourceTable } from "../manifest-schema.ts";
import { CompileError, lineOf, type NodeSet } from "./nodes.ts";

export function resolveRefs(nodes: NodeSet): void {
  for (const node of nodes.nodes.values()) {
    node.dependsOn.nodes = node.dependsOn.nodes.map((ref) => {
      // `package.name` from ref('package', 'name'): names are unique across the project.
      const id = nodes.byName.get(ref.split(".").pop()!);
      if (!id) throw new CompileError(`${node.path}:${lineOf(node.rawSql, ref)}: ref('${ref}') names no model, seed or snapshot`);
      return id;
    });
  }
}

/**
 * `streams` are Sluice's own sources; a source declared only in YAML may well be a seed's table
 * (a project's override puts seeds in the source's schema), which is how dbt projects fill them.
 */
export function assertNoStreamTables(
  nodes: NodeSet,
  sources: readonly SourceTable[],
  streams: Readonly<Record<string, readonly string[]>>,
): void {
  const isStream = (s: SourceTable) => streams[s.source]?.includes(s.table) === true;
  const streamTables = new Map(sources.filter(isStream).map((s) => [s.relation.toLowerCase(), s]));
  for (const node of nodes.nodes.values()) {
    const table = node.resourceType === "test" ? undefined : streamTables.get(node.relation.toLowerCase());
    if (table)
      throw new CompileError(
        `${node.path}: ${node.resourceType} "${node.name}" would be built as ${node.relation}, the table stream ${table.source}/${table.table} lands in; rename it`,
      );
  }
}
