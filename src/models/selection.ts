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
 *   method      bare (a path if it has a "/", a file if it ends in .sql/.csv/.yml, else a name or
 *               fqn), fqn:, file:, tag:, path:, source:, resource_type:, test_type:, config.<key>:,
 *               result:<status> (each node's latest result in an earlier run), state:new|modified
 *               (.body, .configs, .relation)|unmodified|old (against the previous deploy's manifest)
 *   value       a whole-string glob: "*" is any run of characters (including "/"), "?" is one
 *
 * A selector of selectors.yml (`--selector name`) is a tree of unions, intersections and
 * exclusions over criteria (selectors.ts parses it); each criterion brings its tests along as its
 * `indirect_selection` says: eager (dbt's default), cautious, buildable or empty.
 */
import { SluiceError } from "../lib/errors.ts";
import { compileGlob, type GlobMatcher } from "../lib/glob.ts";
import { isTestNode, type Manifest } from "./manifest-schema.ts";
import type { Criterion, IndirectSelection, SelectorTree } from "./selector-tree.ts";

export interface SelectableNode {
  uniqueId: string;
  resourceType: "model" | "seed" | "test" | "snapshot" | "unit_test";
  name: string;
  /** Relative to the project folder, e.g. "models/staging/stg_orders.sql". */
  path: string;
  /** dbt's fully qualified name; [project, name] when absent. */
  fqn?: string[] | undefined;
  tags: string[];
  config: Record<string, unknown>;
  dependsOn: { nodes: string[]; sources: { source: string; table: string }[] };
  test?: { kind: "generic" | "singular" } | undefined;
}

/** What a node was in a manifest, for `state:` comparisons. */
export interface NodeDigest {
  body: string;
  configs: string;
  relation: string;
}

/** What `result:` and `state:` compare against; only the Worker has it. */
export interface SelectionState {
  /** Each node's latest status in an earlier run. */
  results?: ReadonlyMap<string, string>;
  /** The nodes of the previous deploy's manifest and of this one. */
  previous?: ReadonlyMap<string, NodeDigest> | undefined;
  current?: ReadonlyMap<string, NodeDigest>;
}

export interface SelectOptions {
  select?: readonly string[];
  exclude?: readonly string[];
  /** A selector of selectors.yml, in place of select and exclude. */
  selector?: SelectorTree | undefined;
  state?: SelectionState | undefined;
}

/** A malformed selector. The message quotes the offending term, so callers can show it as is. */
export class SelectionError extends Error {
  override name = "SelectionError";
}

const resourceTypes = new Set<string>(["model", "seed", "test", "snapshot", "unit_test"]);
const methods = ["fqn", "file", "tag", "path", "source", "resource_type", "test_type", "config.<key>", "result", "state"];
const testTypes: Record<string, "generic" | "singular" | "unit"> = {
  generic: "generic",
  singular: "singular",
  unit: "unit",
  schema: "generic",
  data: "singular",
};
const resultStatuses = ["success", "error", "skipped", "pass", "fail", "warn"];
const stateValues = ["new", "old", "modified", "unmodified", "modified.body", "modified.configs", "modified.relation"];

/**
 * The selection graph. Sources are not nodes, but they are vertices here (under ids no node can
 * have) so that `source:stripe+` is an ordinary descendant walk; they are dropped from the result.
 */
interface Graph {
  nodes: Map<string, SelectableNode>;
  sources: Map<string, { source: string; table: string }>;
  parents: Map<string, string[]>;
  children: Map<string, string[]>;
  state: SelectionState | undefined;
}

export function selectNodes(all: readonly SelectableNode[], options: SelectOptions): Set<string> {
  const graph = buildGraph(all, options.state);
  if (options.selector) {
    if (options.select?.length || options.exclude?.length) throw new SelectionError("give select and exclude, or a selector, not both");
    const chosen = evaluateTree(graph, options.selector);
    return new Set([...chosen].filter((id) => graph.nodes.has(id)));
  }
  // Parse and evaluate exclude even when select is empty, so a bad exclude is never ignored.
  const selected = options.select?.length ? withTests(graph, evaluate(graph, options.select)) : new Set(graph.nodes.keys());
  // Eager on the exclude side too: excluding a model drops every test that touches it.
  const excluded = options.exclude?.length ? withTests(graph, evaluate(graph, options.exclude)) : new Set<string>();
  return new Set([...selected].filter((id) => graph.nodes.has(id) && !excluded.has(id)));
}

function buildGraph(all: readonly SelectableNode[], state: SelectionState | undefined): Graph {
  const disabled = new Set(all.filter((n) => n.config.enabled === false).map((n) => n.uniqueId));
  // Like dbt, a disabled node is not in the graph at all, and neither is a test of one: it would
  // test a relation that is never built.
  const live = all.filter((n) => !disabled.has(n.uniqueId) && !(isTestNode(n) && n.dependsOn.nodes.some((p) => disabled.has(p))));
  const graph: Graph = {
    nodes: new Map(live.map((n) => [n.uniqueId, n])),
    sources: new Map(),
    parents: new Map(),
    children: new Map(),
    state,
  };
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

/** Parses one CLI expression ("2+tag:nightly+1") into a criterion, checking its method and value. */
export function parseExpression(expression: string): Criterion {
  const match = EXPRESSION.exec(expression);
  if (!match?.groups) throw new SelectionError(`malformed selector "${expression}"`);
  const { at, up, body = "", down } = match.groups;
  if (at && (up !== undefined || down !== undefined)) {
    throw new SelectionError(`selector "${expression}" combines "@" with "+"; use one or the other`);
  }
  const colon = body.indexOf(":");
  // undefined is the bare method; "" (as in ":x") is an unknown one.
  const method = colon === -1 ? undefined : body.slice(0, colon);
  const value = colon === -1 ? body : body.slice(colon + 1);
  if (method === "") throw unknownMethod(method, expression);
  const criterion: Criterion = {
    method: method ?? bareMethod(value),
    value,
    parents: up !== undefined,
    parentsDepth: depth(up),
    children: down !== undefined,
    childrenDepth: depth(down),
    childrensParents: at !== undefined,
    indirect: "eager",
  };
  checkCriterion(criterion, expression);
  return criterion;
}

/**
 * dbt's default method for a bare value: a path when it has a "/", a file when it ends in a file
 * extension, else a name (Sluice's globbed name, with dbt's fqn: matches).
 */
function bareMethod(value: string): string {
  if (value.includes("/")) return "path";
  if (/\.(sql|csv|py|ya?ml)$/i.test(value)) return "file";
  return "";
}

/** A criterion's method and value are ones Sluice knows; the message quotes where it came from. */
export function checkCriterion(criterion: Criterion, where: string): void {
  const { method, value } = criterion;
  if (value === "") throw new SelectionError(`selector "${where}" has no value after "${method}:"`);
  if (method === "" || ["fqn", "file", "tag", "path"].includes(method)) return;
  if (method === "source") {
    const [source = "", table, ...extra] = value.split(".");
    if (extra.length > 0 || source === "" || table === "")
      throw new SelectionError(`selector "${where}": expected source:<source> or source:<source>.<table>`);
  } else if (method === "resource_type") {
    if (!resourceTypes.has(value))
      throw new SelectionError(`selector "${where}": resource type must be one of ${[...resourceTypes].join(", ")}`);
  } else if (method === "test_type") {
    if (!Object.hasOwn(testTypes, value)) throw new SelectionError(`selector "${where}": test type must be one of generic, singular, unit`);
  } else if (method === "result") {
    if (!resultStatuses.includes(value))
      throw new SelectionError(`selector "${where}": result must be one of ${resultStatuses.join(", ")}`);
  } else if (method === "state") {
    if (!stateValues.includes(value)) throw new SelectionError(`selector "${where}": state must be one of ${stateValues.join(", ")}`);
  } else if (!(method.startsWith("config.") && method.length > "config.".length)) throw unknownMethod(method, where);
}

const unknownMethod = (method: string, where: string) =>
  new SelectionError(
    `unknown selector method "${method}" in "${where}"; expected a node name or one of ${methods.map((m) => `${m}:`).join(", ")}`,
  );

function evaluateExpression(graph: Graph, expression: string): Set<string> {
  return applyCriterion(graph, parseExpression(expression));
}

/** A criterion's matches, with its graph operators applied (its tests come with the caller's indirect selection). */
function applyCriterion(graph: Graph, criterion: Criterion): Set<string> {
  const matched = matchMethod(graph, criterion);
  if (criterion.childrensParents) {
    // @x: x, its descendants, and every ancestor of those, i.e. all a build of x+ needs.
    return walk(walk(matched, graph.children, Infinity), graph.parents, Infinity);
  }
  const result = new Set(matched);
  if (criterion.parents) for (const id of walk(matched, graph.parents, criterion.parentsDepth ?? Infinity)) result.add(id);
  if (criterion.children) for (const id of walk(matched, graph.children, criterion.childrenDepth ?? Infinity)) result.add(id);
  return result;
}

/** "" (a bare "+") is unbounded (null); "2" is two generations. */
const depth = (digits: string | undefined) => (digits === undefined || digits === "" ? null : Number(digits));

/** A selectors.yml definition: set operations over criteria, each with its own indirect selection. */
function evaluateTree(graph: Graph, tree: SelectorTree): Set<string> {
  let result: Set<string>;
  if ("union" in tree) {
    result = new Set(tree.union.flatMap((item) => [...evaluateTree(graph, item)]));
  } else if ("intersection" in tree) {
    const [first, ...rest] = tree.intersection.map((item) => evaluateTree(graph, item));
    result = new Set([...(first ?? [])].filter((id) => rest.every((set) => set.has(id))));
  } else if ("args" in tree) {
    result = withTests(graph, evaluate(graph, tree.args));
  } else {
    result = indirectly(graph, applyCriterion(graph, tree.criterion), tree.criterion.indirect);
  }
  if (tree.exclude) {
    const excluded = evaluateTree(graph, tree.exclude);
    result = new Set([...result].filter((id) => !excluded.has(id)));
  }
  return result;
}

/** dbt's indirect selection: which tests of the selected nodes come along. */
function indirectly(graph: Graph, ids: Set<string>, mode: IndirectSelection): Set<string> {
  if (mode === "eager") return withTests(graph, ids);
  if (mode === "empty") return ids;
  // cautious: a test whose parents are all selected; buildable: all selected or upstream of the selection.
  const allowed = mode === "cautious" ? ids : walk(ids, graph.parents, Infinity);
  const result = new Set(ids);
  for (const node of graph.nodes.values()) {
    if (!isTestNode(node) || node.dependsOn.nodes.length === 0) continue;
    const parents = node.dependsOn.nodes.filter((parent) => graph.nodes.has(parent));
    if (parents.some((parent) => ids.has(parent)) && parents.every((parent) => allowed.has(parent))) result.add(node.uniqueId);
  }
  return result;
}

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

/** The vertices (node ids, or source ids for `source:`) a criterion's method and value match. */
function matchMethod(graph: Graph, criterion: Criterion): Set<string> {
  const { method, value } = criterion;
  const nodes = [...graph.nodes.values()];
  const pick = (test: (node: SelectableNode) => boolean) => new Set(nodes.filter(test).map((n) => n.uniqueId));
  const pattern = compileGlob(value, { anyChar: true });

  if (method === "") return pick((n) => pattern(n.name) || fqnMatches(fqnOf(n), value));
  if (method === "fqn") return pick((n) => fqnMatches(fqnOf(n), value));
  if (method === "file") return pick((n) => pattern(baseName(n.path)) || pattern(baseName(n.path).replace(/\.[^.]*$/, "")));
  if (method === "tag") return pick((n) => n.tags.some((tag) => pattern(tag)));
  if (method === "path") {
    // A folder selects everything under it, a file itself; "models/stag" is neither.
    const folder = value.replace(/^\.\//, "").replace(/\/+$/, "");
    const exact = compileGlob(folder, { anyChar: true });
    const under = compileGlob(`${folder}/*`, { anyChar: true });
    return pick((n) => exact(n.path) || under(n.path));
  }
  if (method === "source") {
    const [source = "", table] = value.split(".");
    const sourcePattern = compileGlob(source, { anyChar: true });
    const tablePattern = table === undefined ? undefined : compileGlob(table, { anyChar: true });
    const ids = [...graph.sources].filter(([, s]) => sourcePattern(s.source) && (tablePattern?.(s.table) ?? true));
    return new Set(ids.map(([id]) => id));
  }
  if (method === "resource_type") return pick((n) => n.resourceType === value);
  if (method === "test_type")
    return pick(
      (n) => (n.resourceType === "unit_test" ? "unit" : n.resourceType === "test" && (n.test?.kind ?? "singular")) === testTypes[value],
    );
  if (method === "result") {
    const results = graph.state?.results;
    if (!results) throw new SelectionError(`selector "result:${value}" needs the results of earlier runs, which only the Worker keeps`);
    return pick((n) => results.get(n.uniqueId) === value);
  }
  if (method === "state") return pick(stateMatcher(graph.state, value));
  const key = method.slice("config.".length).split(".");
  return pick((n) => configMatches(lookup(n.config, key), pattern));
}

function stateMatcher(state: SelectionState | undefined, value: string): (node: SelectableNode) => boolean {
  const { previous, current } = state ?? {};
  if (!current)
    throw new SelectionError(`selector "state:${value}" needs the manifest of the previous deploy, which only the Worker keeps`);
  if (!previous)
    throw new SelectionError(`selector "state:${value}" has no previous deploy to compare with: this Worker has run only one manifest`);
  const changed = (id: string, part?: keyof NodeDigest) => {
    const before = previous.get(id);
    const now = current.get(id);
    if (!before || !now) return false;
    return part
      ? before[part] !== now[part]
      : before.body !== now.body || before.configs !== now.configs || before.relation !== now.relation;
  };
  switch (value) {
    case "new":
      return (n) => !previous.has(n.uniqueId);
    case "old":
      return (n) => previous.has(n.uniqueId);
    case "modified":
      return (n) => !previous.has(n.uniqueId) || changed(n.uniqueId);
    case "unmodified":
      return (n) => previous.has(n.uniqueId) && !changed(n.uniqueId);
    default: {
      const part = ({ "modified.body": "body", "modified.configs": "configs", "modified.relation": "relation" } as const)[
        value as "modified.body"
      ];
      return (n) => changed(n.uniqueId, part);
    }
  }
}

const baseName = (path: string) => path.slice(path.lastIndexOf("/") + 1);
const fqnOf = (node: SelectableNode) => node.fqn ?? [node.uniqueId.split(".")[1] ?? "", node.name];

/**
 * dbt's `fqn:` match: the last part equal to the value, or the value's dot-separated parts a
 * prefix of the fqn (with or without its project), globbing from the first part with a wildcard.
 */
function fqnMatches(fqn: readonly string[], value: string): boolean {
  if (fqn.at(-1) === value) return true;
  const prefixOf = (parts: readonly string[]) => {
    const wanted = value.split(".");
    if (parts.length < wanted.length) return false;
    for (const [i, part] of wanted.entries()) {
      if (/[*?]/.test(part)) return compileGlob(wanted.slice(i).join("."), { anyChar: true })(parts.slice(i).join("."));
      if (parts[i] !== part) return false;
    }
    return true;
  };
  return prefixOf(fqn) || prefixOf(fqn.slice(1));
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
 * the set, even if its other parents are not; a unit test comes along with its model. Parents are nodes only: a source is no test parent.
 */
function withTests(graph: Graph, ids: Set<string>): Set<string> {
  const result = new Set(ids);
  for (const node of graph.nodes.values()) {
    if (isTestNode(node) && node.dependsOn.nodes.some((parent) => ids.has(parent))) result.add(node.uniqueId);
  }
  return result;
}

export interface Selection {
  select?: readonly string[] | undefined;
  exclude?: readonly string[] | undefined;
  /** The name of a selector in the project's selectors.yml. */
  selector?: string | undefined;
}

/**
 * The selectors.yml selector a run uses: the one named, or, when nothing is selected or
 * excluded, the project's default selector (as dbt does), or none.
 */
export function chosenSelector(manifest: Manifest, selection: Selection): SelectorTree | undefined {
  const selectors = manifest.selectors ?? {};
  if (selection.selector !== undefined) {
    const found = selectors[selection.selector];
    if (found) return found.definition;
    const names = Object.keys(selectors);
    throw new SluiceError(
      "bad_request",
      `unknown selector "${selection.selector}"; ${names.length ? `selectors.yml defines ${names.join(", ")}` : "the project has no selectors.yml"}`,
    );
  }
  if (selection.select?.length || selection.exclude?.length) return undefined;
  return Object.values(selectors).find((s) => s.default)?.definition;
}

/** Whether a selection compares with earlier runs (`result:`) or the previous deploy (`state:`). */
export function selectionNeeds(manifest: Manifest, selection: Selection): { results: boolean; state: boolean } {
  const text = JSON.stringify([selection.select, selection.exclude, chosenSelector(manifest, selection)]);
  return { results: /\bresult:|"method":"result"/.test(text), state: /\bstate:|"method":"state"/.test(text) };
}

/** Which manifest nodes a run covers. */
export function selectedIds(manifest: Manifest, selection: Selection, state?: SelectionState): Set<string> {
  const nodes = manifest.nodes.map((node) => ({ ...node, tags: node.config.tags, config: node.config as Record<string, unknown> }));
  const { select, exclude } = selection;
  const selector = chosenSelector(manifest, selection);
  try {
    if (selector && selection.selector !== undefined && (select?.length || exclude?.length))
      throw new SelectionError("give select and exclude, or a selector, not both");
    return selectNodes(nodes, selector ? { selector, state } : { ...(select ? { select } : {}), ...(exclude ? { exclude } : {}), state });
  } catch (error) {
    if (error instanceof SelectionError) throw new SluiceError("bad_request", error.message);
    throw error;
  }
}
