/**
 * `GET /v1/lineage` (ADMIN_TOKENS): the pipeline as a graph, sources → streams → models →
 * reports, as JSON nodes and edges and as a Mermaid flowchart.
 */
import { createRoute } from "@hono/zod-openapi";
import { errors, jsonAnswer } from "../http/responses.ts";
import { createRouter } from "../http/routers.ts";
import { getManifest } from "../models/manifest.ts";
import { lineageOf } from "./lineage-graph.ts";

export const lineageRoutes = createRouter("admin");

const lineage = createRoute({
  method: "get",
  path: "/v1/lineage",
  summary: "Sources → streams → models → reports, as JSON and Mermaid",
  responses: { 200: jsonAnswer("Nodes, edges and a Mermaid flowchart"), ...errors(401, 429) },
});

lineageRoutes.openapi(lineage, (c) => {
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
  return c.json({ nodes, edges, mermaid }, 200);
});
