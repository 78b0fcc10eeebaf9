/**
 * The model DAG. In: models and the models each one refs. Out: an order in which every model
 * comes after its parents, or an error naming a cycle.
 */
export function topologicalOrder(dependencies: ReadonlyMap<string, readonly string[]>): string[] {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();

  const visit = (node: string, path: string[]) => {
    const seen = state.get(node);
    if (seen === "done") return;
    if (seen === "visiting") {
      const cycle = [...path.slice(path.indexOf(node)), node];
      throw new Error(`dependency cycle: ${cycle.join(" -> ")}`);
    }
    state.set(node, "visiting");
    for (const parent of dependencies.get(node) ?? []) visit(parent, [...path, node]);
    state.set(node, "done");
    order.push(node);
  };

  for (const node of [...dependencies.keys()].sort()) visit(node, []);
  return order;
}
