/**
 * dbt's node selection syntax (`--select` / `--exclude`), after
 * https://docs.getdbt.com/reference/node-selection/syntax.
 *
 * In: the project's nodes (a structural subset of the manifest's) and the select and exclude
 * arguments. Out: the unique ids of the selected nodes. Pure and synchronous, so the CLI, the
 * HTTP API and the runner can share it, and it needs no bindings to test. `selectedIds` applies it
 * to a manifest and reports a malformed selector as a bad request.
 *
 *   argument    "a b"      space-separated terms: union (as are separate arguments)
 *   term        "a,b"      comma-separated expressions: intersection
 *   expression  "2+tag:nightly+1", "@stg_orders"   graph operators around a method and value
 *   method      name (bare), tag:, path:, source:, resource_type:, config.<key>:
 *   value       a whole-string glob: "*" is any run of characters (including "/"), "?" is one
 */
import { SluiceError } from "../lib/errors.ts";
import { compileGlob, type GlobMatcher } from "../lib/glob.ts";
import type { Manifest } from "./manifest-schema.ts";

export interface SelectableNode {
  uniqueId: string;
  resourceType: "model" | "seed" | "test" | "snapshot";
  name: string;
  /** Relative to the project folder, e.g. "models/staging/stg_orders.sql". */
  path: string;
  tags: string[];
  config: Record<string, unknown>;
  dependsOn: { nodes: string[]; sources: { source: string; table: string }[] };
}

export interface SelectOptions {
  select?: readonly string[];
  exclude?: readonly string[];
}

/** A malformed selector. The message quotes the offending term, so callers can show it as is. */
export class SelectionError extends Error {
  override name = "SelectionError";
}

const resourceTypes = new Set<string>(["model", "seed", "test", "snapshot"]);
const methods = ["tag", "path", "source", "resource_type", "config.<key>"];

/**
 * The selection graph. Sources are not nodes, but they are vertices here (under ids no node can
 * have) so that `source:stripe+` is an ordinary descendant walk; they are dropped from the result.
 */
interface Graph {
  nodes: Map<string, SelectableNode>;
  sources: Map<string, { source: string; table: string }>;
  parents: Map<string, string[]>;
  children: Map<string, string[]>;
}

export function selectNodes(all: readonly SelectableNode[], options: SelectOptions): Set<string> {
  const graph = buildGraph(all);
  // Parse and evaluate exclude even when select is empty, so a bad exclude is never ignored.
  const selected = options.select?.length ? withTests(graph, evaluate(graph, options.select)) : new Set(graph.nodes.keys());
  // Eager on the exclude side too: excluding a model drops every test that touches it.
  const excluded = options.exclude?.length ? withTests(graph, evaluate(graph, options.exclude)) : new Set<string>();
  return new Set([...selected].filter((id) => graph.nodes.has(id) && !excluded.has(id)));
}

function buildGraph(all: readonly SelectableNode[]): Graph {
  const disabled = new Set(all.filter((n) => n.config.enabled === false).map((n) => n.uniqueId));
  // Like dbt, a disabled node is not in the graph at all, and neither is a test of one: it would
  // test a relation that is never built.
  const live = all.filter(
    (n) => !disabled.has(n.uniqueId) && !(n.resourceType === "test" && n.dependsOn.nodes.some((p) => disabled.has(p))),
  );
  const graph: Graph = { nodes: new Map(live.map((n) => [n.uniqueId, n])), sources: new Map(), parents: new Map(), children: new Map() };
  const link = (parent: string, child: string) => {
    push(graph.children, parent, child);
    push(graph.parents, child, parent);
  };
  for (const node of live) {
    // Edges to nodes outside the graph (disabled, or unknown) are dropped rather than followed.
    for (const parent of node.dependsOn.nodes) if (graph.nodes.has(parent)) link(parent, node.uniqueId);
    for (const source of node.dependsOn.sources) {
      const id = `source:${source.source}.${source.table}`;
      graph.sources.set(id, source);
      link(id, node.uniqueId);
    }
  }
  return graph;
}

function push(map: Map<string, string[]>, key: string, value: string) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The union of every space-separated term of every argument. */
function evaluate(graph: Graph, args: readonly string[]): Set<string> {
  const result = new Set<string>();
  for (const arg of args) {
    const terms = arg.trim().split(/\s+/);
    if (terms[0] === "") throw new SelectionError(`empty selector argument ${JSON.stringify(arg)}`);
    for (const term of terms) {
      const sets = term.split(",").map((part) => {
        if (part === "") throw new SelectionError(`empty expression in selector "${term}"`);
        return evaluateExpression(graph, part);
      });
      const [first, ...rest] = sets as [Set<string>, ...Set<string>[]];
      for (const id of first) if (rest.every((set) => set.has(id))) result.add(id);
    }
  }
  return result;
}

// [@][n+]body[+n]. The body may not contain "+" or "@", so "x+y+" is malformed rather than a
// node named "x+y"; digits only count as a depth when a "+" follows or precedes them.
const EXPRESSION = /^(?<at>@)?(?:(?<up>\d*)\+)?(?<body>[^+@]+?)(?:\+(?<down>\d*))?$/;

function evaluateExpression(graph: Graph, expression: string): Set<string> {
  const match = EXPRESSION.exec(expression);
  if (!match?.groups) throw new SelectionError(`malformed selector "${expression}"`);
  const { at, up, body = "", down } = match.groups;
  if (at && (up !== undefined || down !== undefined)) {
    throw new SelectionError(`selector "${expression}" combines "@" with "+"; use one or the other`);
  }
  const matched = matchMethod(graph, body, expression);
  if (at) {
    // @x: x, its descendants, and every ancestor of those, i.e. all a build of x+ needs.
    return walk(walk(matched, graph.children, Infinity), graph.parents, Infinity);
  }
  const result = new Set(matched);
  if (up !== undefined) for (const id of walk(matched, graph.parents, depth(up))) result.add(id);
  if (down !== undefined) for (const id of walk(matched, graph.children, depth(down))) result.add(id);
  return result;
}

/** "" (a bare "+") is unbounded; "2" is two generations. */
const depth = (digits: string) => (digits === "" ? Infinity : Number(digits));

/** The start set and everything within `generations` edges of it, breadth first. */
function walk(start: Iterable<string>, edges: Map<string, string[]>, generations: number): Set<string> {
  const seen = new Set(start);
  let frontier = [...seen];
  for (let generation = 0; generation < generations && frontier.length > 0; generation++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const neighbour of edges.get(id) ?? []) {
        if (!seen.has(neighbour)) {
          seen.add(neighbour);
          next.push(neighbour);
        }
      }
    }
    frontier = next;
  }
  return seen;
}

/** The vertices (node ids, or source ids for `source:`) a method and value match. */
function matchMethod(graph: Graph, body: string, expression: string): Set<string> {
  const colon = body.indexOf(":");
  // undefined is the bare-name method; "" (as in ":x") is an unknown one.
  const method = colon === -1 ? undefined : body.slice(0, colon);
  const value = colon === -1 ? body : body.slice(colon + 1);
  if (value === "") throw new SelectionError(`selector "${expression}" has no value after "${method}:"`);
  const nodes = [...graph.nodes.values()];
  const pick = (test: (node: SelectableNode) => boolean) => new Set(nodes.filter(test).map((n) => n.uniqueId));
  const pattern = compileGlob(value, { anyChar: true });

  if (method === undefined) return pick((n) => pattern(n.name));
  if (method === "tag") return pick((n) => n.tags.some((tag) => pattern(tag)));
  if (method === "path") {
    // A folder selects everything under it, a file itself; "models/stag" is neither.
    const folder = value.replace(/^\.\//, "").replace(/\/+$/, "");
    const exact = compileGlob(folder, { anyChar: true });
    const under = compileGlob(`${folder}/*`, { anyChar: true });
    return pick((n) => exact(n.path) || under(n.path));
  }
  if (method === "source") {
    const [source = "", table, ...extra] = value.split(".");
    if (extra.length > 0 || source === "" || table === "") {
      throw new SelectionError(`selector "${expression}": expected source:<source> or source:<source>.<table>`);
    }
    const sourcePattern = compileGlob(source, { anyChar: true });
    const tablePattern = table === undefined ? undefined : compileGlob(table, { anyChar: true });
    const ids = [...graph.sources].filter(([, s]) => sourcePattern(s.source) && (tablePattern?.(s.table) ?? true));
    return new Set(ids.map(([id]) => id));
  }
  if (method === "resource_type") {
    if (!resourceTypes.has(value)) {
      throw new SelectionError(`selector "${expression}": resource type must be one of ${[...resourceTypes].join(", ")}`);
    }
    return pick((n) => n.resourceType === value);
  }
  if (method.startsWith("config.") && method.length > "config.".length) {
    const key = method.slice("config.".length).split(".");
    return pick((n) => configMatches(lookup(n.config, key), pattern));
  }
  throw new SelectionError(
    `unknown selector method "${method}" in "${expression}"; expected a node name or one of ${methods.map((m) => `${m}:`).join(", ")}`,
  );
}

/** Follows a dotted key ("meta.owner") into nested config objects. */
function lookup(config: Record<string, unknown>, key: string[]): unknown {
  let value: unknown = config;
  for (const part of key) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Scalars compare as text ("config.enabled:true"); arrays match if any element does. */
function configMatches(value: unknown, pattern: GlobMatcher): boolean {
  if (Array.isArray(value)) return value.some((item) => configMatches(item, pattern));
  const scalar = typeof value === "string" || typeof value === "number" || typeof value === "boolean";
  return scalar && pattern(String(value));
}

/**
 * dbt's default "eager" indirect selection: a test comes along when any of its parent nodes is in
 * the set, even if its other parents are not. Parents are nodes only: a source is no test parent.
 */
function withTests(graph: Graph, ids: Set<string>): Set<string> {
  const result = new Set(ids);
  for (const node of graph.nodes.values()) {
    if (node.resourceType === "test" && node.dependsOn.nodes.some((parent) => ids.has(parent))) result.add(node.uniqueId);
  }
  return result;
}

/** Which manifest nodes a run covers. */
export function selectedIds(manifest: Manifest, select?: readonly string[], exclude?: readonly string[]): Set<string> {
  const nodes = manifest.nodes.map((node) => ({ ...node, tags: node.config.tags, config: node.config as Record<string, unknown> }));
  try {
    return selectNodes(nodes, { ...(select ? { select } : {}), ...(exclude ? { exclude } : {}) });
  } catch (error) {
    if (error instanceof SelectionError) throw new SluiceError("bad_request", error.message);
    throw error;
  }
}
