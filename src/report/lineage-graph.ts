/**
 * The pipeline's lineage as a graph (sources → streams → models → reports), shared by
 * `GET /v1/lineage` and the dashboard's server-rendered SVG.
 */
import { declaredStreams, type SluiceConfig } from "../config/index.ts";
import type { Manifest } from "../models/manifest-schema.ts";

export interface LineageNode {
  id: string;
  type: "source" | "stream" | "seed" | "model" | "snapshot" | "report";
  label: string;
}

export interface Lineage {
  nodes: LineageNode[];
  edges: { from: string; to: string }[];
}

export function lineageOf(config: SluiceConfig, manifest: Manifest): Lineage {
  const nodes = new Map<string, LineageNode>();
  const edges: { from: string; to: string }[] = [];
  for (const { source, stream } of declaredStreams(config)) {
    nodes.set(`source:${source}`, { id: `source:${source}`, type: "source", label: source });
    nodes.set(`stream:${source}.${stream}`, { id: `stream:${source}.${stream}`, type: "stream", label: `raw_${source}__${stream}` });
    edges.push({ from: `source:${source}`, to: `stream:${source}.${stream}` });
  }
  for (const node of manifest.nodes) {
    if (node.resourceType === "test" || node.resourceType === "unit_test") continue;
    nodes.set(node.uniqueId, { id: node.uniqueId, type: node.resourceType, label: node.name });
    for (const parent of node.dependsOn.nodes) edges.push({ from: parent, to: node.uniqueId });
    for (const { source, table } of node.dependsOn.sources) {
      const id = `stream:${source}.${table}`;
      if (!nodes.has(id)) nodes.set(id, { id, type: "stream", label: `${source}.${table}` });
      edges.push({ from: id, to: node.uniqueId });
    }
  }
  for (const [name, report] of Object.entries(config.reports)) {
    nodes.set(`report:${name}`, { id: `report:${name}`, type: "report", label: name });
    const model = manifest.nodes.find((n) => n.name === report.model);
    if (model) edges.push({ from: model.uniqueId, to: `report:${name}` });
  }
  return { nodes: [...nodes.values()], edges };
}

/** A left-to-right layout: each node one column right of its deepest parent. */
export function layout(lineage: Lineage): { x: Map<string, number>; y: Map<string, number>; columns: number; rows: number } {
  const parents = new Map<string, string[]>();
  for (const edge of lineage.edges) parents.set(edge.to, [...(parents.get(edge.to) ?? []), edge.from]);
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen = new Set<string>()): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = Math.max(-1, ...(parents.get(id) ?? []).map((p) => depthOf(p, seen))) + 1;
    depth.set(id, d);
    return d;
  };
  const x = new Map<string, number>();
  const y = new Map<string, number>();
  const perColumn: number[] = [];
  for (const node of lineage.nodes) {
    const column = depthOf(node.id);
    x.set(node.id, column);
    y.set(node.id, perColumn[column] ?? 0);
    perColumn[column] = (perColumn[column] ?? 0) + 1;
  }
  return { x, y, columns: perColumn.length, rows: Math.max(1, ...perColumn) };
}
