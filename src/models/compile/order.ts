/**
 * The order nodes run in, fixed when the manifest is compiled so a run never sorts. In: the node
 * set with refs resolved. Out: the nodes in that order; a cycle is a CompileError naming its nodes.
 */
import { topologicalOrder } from "../graph.ts";
import type { ManifestNode, SourceTable } from "../manifest-schema.ts";
import { CompileError } from "./nodes.ts";

/**
 * Every node after its parents; and every node after the tests of its parents, so that a failed
 * test can stop what is built on the model it tests. As in dbt, that holds for a test only when
 * all the nodes it depends on are upstream of the node: a relationships test between two models
 * does not hold back a third that reads only one of them (two such tests would form a cycle).
 * A node that reads a source whose table a seed (or model) of the project builds runs after it: that is
 * how dbt projects fill their sources (jaffle-shop's seeds land in `raw`, where its sources are).
 */
export function runOrder(nodes: ReadonlyMap<string, ManifestNode>, sources: readonly SourceTable[] = []): ManifestNode[] {
  const builders = new Map<string, string>();
  for (const node of nodes.values()) if (node.resourceType !== "test") builders.set(node.relation.toLowerCase(), node.uniqueId);
  const sourceBuilder = new Map<string, string>();
  for (const source of sources) {
    const builder = builders.get(source.relation.toLowerCase());
    if (builder) sourceBuilder.set(`${source.source}.${source.table}`, builder);
  }
  const testsOf = new Map<string, string[]>();
  for (const node of nodes.values()) {
    if (node.resourceType !== "test") continue;
    for (const parent of node.dependsOn.nodes) testsOf.set(parent, [...(testsOf.get(parent) ?? []), node.uniqueId]);
  }
  // An ephemeral model is inlined into its children, so its parents are theirs too.
  const effectiveParents = (node: ManifestNode, seen = new Set<string>()): string[] =>
    node.dependsOn.nodes.flatMap((id) => {
      const parent = nodes.get(id)!;
      if (parent.config.materialized !== "ephemeral" || seen.has(id)) return [id];
      seen.add(id);
      return [id, ...effectiveParents(parent, seen)];
    });
  const ancestors = new Map<string, Set<string>>();
  const upstreamOf = (id: string, stack: string[] = []): Set<string> => {
    const known = ancestors.get(id);
    if (known) return known;
    const found = new Set<string>();
    // A cycle is reported by the sort below; here it only stops the walk.
    if (stack.includes(id)) return found;
    for (const parent of nodes.get(id)?.dependsOn.nodes ?? []) {
      found.add(parent);
      for (const above of upstreamOf(parent, [...stack, id])) found.add(above);
    }
    ancestors.set(id, found);
    return found;
  };
  const edges = new Map<string, string[]>();
  for (const node of nodes.values()) {
    const parents = [...node.dependsOn.nodes];
    for (const { source, table } of node.dependsOn.sources) {
      const builder = sourceBuilder.get(`${source}.${table}`);
      if (builder && builder !== node.uniqueId && !parents.includes(builder)) parents.push(builder);
    }
    if (node.resourceType !== "test") {
      const upstream = upstreamOf(node.uniqueId);
      for (const parent of effectiveParents(node)) {
        for (const test of testsOf.get(parent) ?? [])
          if (nodes.get(test)!.dependsOn.nodes.every((p) => upstream.has(p)) && !parents.includes(test)) parents.push(test);
      }
    }
    edges.set(node.uniqueId, parents);
  }
  let order: string[];
  try {
    order = topologicalOrder(edges);
  } catch (error) {
    const names = (error as Error).message.replace(/[^\s>-]+\.[^\s>-]+\.([^\s>-]+)/g, "$1");
    throw new CompileError(names);
  }
  return order.map((id) => nodes.get(id)!);
}
