/**
 * The order nodes run in, fixed when the manifest is compiled so a run never sorts. In: the node
 * set with refs resolved. Out: the nodes in that order; a cycle is a CompileError naming its nodes.
 */
import { topologicalOrder } from "../graph.ts";
import type { ManifestNode } from "../manifest-schema.ts";
import { CompileError } from "./nodes.ts";

/**
 * Every node after its parents; and every node after the tests of its parents, so that a failed
 * test can stop what is built on the model it tests (a test that also depends on the node
 * itself, like a relationships test, cannot, and is left out of that rule).
 */
export function runOrder(nodes: ReadonlyMap<string, ManifestNode>): ManifestNode[] {
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
  const edges = new Map<string, string[]>();
  for (const node of nodes.values()) {
    const parents = [...node.dependsOn.nodes];
    if (node.resourceType !== "test") {
      for (const parent of effectiveParents(node)) {
        for (const test of testsOf.get(parent) ?? []) if (!nodes.get(test)!.dependsOn.nodes.includes(node.uniqueId)) parents.push(test);
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
