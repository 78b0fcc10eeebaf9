/**
 * `GET /v1/lineage` (ADMIN_TOKENS): the pipeline as a graph, sources → streams → models →
 * reports, as JSON nodes and edges and as a Mermaid flowchart.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { requireToken } from "../lib/auth.ts";
import { getManifest } from "../models/manifest.ts";
import { lineageOf } from "./lineage-graph.ts";

export const lineageRoutes = new Hono<AppEnv>();
lineageRoutes.use("/v1/lineage", requireToken("admin"));

lineageRoutes.get("/v1/lineage", (c) => {
  const { nodes, edges } = lineageOf(c.var.runtime.config, getManifest());
  const key = new Map(nodes.map((node, i) => [node.id, `n${i}`]));
  const shapes = {
    source: ["([", "])"],
    stream: ["[(", ")]"],
    seed: ["[/", "/]"],
    model: ["[", "]"],
    snapshot: ["[[", "]]"],
    report: ["{{", "}}"],
  } as const;
  const mermaid = [
    "flowchart LR",
    ...nodes.map((n) => `  ${key.get(n.id)}${shapes[n.type][0]}"${n.label}"${shapes[n.type][1]}`),
    ...edges.map((e) => `  ${key.get(e.from)} --> ${key.get(e.to)}`),
  ].join("\n");
  return c.json({ nodes, edges, mermaid });
});
