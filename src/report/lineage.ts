/**
 * `GET /v1/lineage` (ADMIN_TOKENS): the pipeline as a graph, sources → streams → models →
 * reports, as JSON nodes and edges and as a Mermaid flowchart.
 */
import { Hono } from "hono";
import { declaredStreams } from "../config/index.ts";
import type { AppEnv } from "../env.ts";
import { requireToken } from "../lib/auth.ts";
import { getManifest } from "../models/manifest.ts";

export const lineageRoutes = new Hono<AppEnv>();
lineageRoutes.use("/v1/lineage", requireToken("admin"));

interface LineageNode {
  id: string;
  type: "source" | "stream" | "seed" | "model" | "snapshot" | "report";
  label: string;
}

lineageRoutes.get("/v1/lineage", (c) => {
  const { config } = c.var.runtime;
  const manifest = getManifest();
  const nodes = new Map<string, LineageNode>();
  const edges: { from: string; to: string }[] = [];
  for (const { source, stream } of declaredStreams(config)) {
    nodes.set(`source:${source}`, { id: `source:${source}`, type: "source", label: source });
    nodes.set(`stream:${source}.${stream}`, { id: `stream:${source}.${stream}`, type: "stream", label: `raw_${source}__${stream}` });
    edges.push({ from: `source:${source}`, to: `stream:${source}.${stream}` });
  }
  for (const node of manifest.nodes) {
    if (node.resourceType === "test") continue;
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
  const key = new Map([...nodes.keys()].map((id, i) => [id, `n${i}`]));
  const shapes = { source: ["([", "])"], stream: ["[(", ")]"], seed: ["[/", "/]"], model: ["[", "]"], snapshot: ["[[", "]]"], report: ["{{", "}}"] } as const;
  const mermaid = [
    "flowchart LR",
    ...[...nodes.values()].map((n) => `  ${key.get(n.id)}${shapes[n.type][0]}"${n.label}"${shapes[n.type][1]}`),
    ...edges.map((e) => `  ${key.get(e.from)} --> ${key.get(e.to)}`),
  ].join("\n");
  return c.json({ nodes: [...nodes.values()], edges, mermaid });
});
