/**
 * Refs and relations. In: the node set, with each node's refs by name, and the source tables.
 * Out: refs as unique ids. A ref to nothing is a CompileError naming the file and line; so is a
 * model, seed or snapshot whose relation is a stream's table, which building it would replace.
 */
import { isTestNode, type ManifestNode, type SourceTable } from "../manifest-schema.ts";
import { splitRef } from "../ref-lookup.ts";
import { CompileError, lineOf, type NodeSet } from "./nodes.ts";

/** Resolves the refs of the nodes `which` picks (all by default), each as seen from its own package. */
export function resolveRefs(nodes: NodeSet, which: (node: ManifestNode) => boolean = () => true): void {
  for (const node of [...nodes.nodes.values()].filter(which)) {
    node.dependsOn.nodes = node.dependsOn.nodes.map((ref) => {
      const { name, pkg } = splitRef(ref);
      const at = `${node.path}:${lineOf(node.rawSql, name)}`;
      let id: string | undefined;
      try {
        id = nodes.refs.find(name, pkg, node.package);
      } catch (error) {
        throw new CompileError(`${at}: ${(error as Error).message}`);
      }
      if (!id) throw new CompileError(`${at}: ref('${pkg === undefined ? name : `${pkg}', '${name}`}') names no model, seed or snapshot`);
      return id;
    });
  }
}

/**
 * Only Sluice's streams are guarded: a source that YAML alone declares names a table the project
 * builds itself, as a source with `schema: raw` names the seeds a project puts in `raw`.
 */
export function assertNoStreamTables(
  nodes: NodeSet,
  sources: readonly SourceTable[],
  streams: Readonly<Record<string, readonly string[]>>,
): void {
  const streamTables = new Map(sources.filter((s) => streams[s.source]?.includes(s.table)).map((s) => [s.relation.toLowerCase(), s]));
  for (const node of nodes.nodes.values()) {
    const table = isTestNode(node) ? undefined : streamTables.get(node.relation.toLowerCase());
    if (table)
      throw new CompileError(
        `${node.path}: ${node.resourceType} "${node.name}" would be built as ${node.relation}, the table stream ${table.source}/${table.table} lands in; rename it`,
      );
  }
}
