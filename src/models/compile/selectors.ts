/**
 * dbt's selectors.yml, after https://docs.getdbt.com/reference/node-selection/yaml-selectors.
 * In: the file's YAML text. Out: each named selector as a tree of unions, intersections and
 * exclusions over criteria (checked now, so a mistake fails `npm run build` with its line), kept
 * in the manifest for `--selector name` and the default selector. A definition is CLI syntax
 * ("tag:nightly+"), `{method: value}`, or the full form with `method`, `value`, `parents`,
 * `children`, `parents_depth`, `children_depth`, `childrens_parents`, `indirect_selection` and
 * `exclude`; `union:` and `intersection:` take a list whose items may include one `exclude:`;
 * `method: selector` inlines another selector.
 */
import { checkCriterion, parseExpression, SelectionError } from "../selection.ts";
import { type Criterion, type IndirectSelection, indirectSelections, type Selectors, type SelectorTree } from "../selector-tree.ts";
import { CompileError } from "./nodes.ts";
import { Located } from "./unsupported.ts";

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);
const selectorKeys = new Set(["name", "description", "default", "definition"]);
const criterionKeys = new Set([
  "method",
  "value",
  "parents",
  "children",
  "parents_depth",
  "children_depth",
  "childrens_parents",
  "indirect_selection",
  "exclude",
]);

type Keys = (string | number)[];

export function parseSelectors(path: string, text: string, raw: unknown): Selectors {
  const file: Located = new Located(path, text);
  if (raw === null || raw === undefined) return {};
  if (!isRecord(raw) || !Array.isArray(raw.selectors)) file.refuse([], "expected a list under selectors:");
  const entries = new Map<string, { keys: Keys; entry: Record<string, unknown> }>();
  for (const [i, entry] of (raw.selectors as unknown[]).entries()) {
    const keys = ["selectors", i];
    if (!isRecord(entry) || typeof entry.name !== "string" || entry.definition === undefined)
      file.refuse(keys, "a selector needs a name and a definition");
    for (const key of Object.keys(entry))
      if (!selectorKeys.has(key)) file.refuse([...keys, key], `unknown key "${key}" in selector "${entry.name}"`);
    if (entries.has(entry.name)) file.refuse(keys, `selector "${entry.name}" is defined twice`);
    if (entry.default !== undefined && typeof entry.default !== "boolean")
      file.refuse([...keys, "default"], `selector "${entry.name}": default is true or false`);
    entries.set(entry.name, { keys, entry });
  }
  const defaults = [...entries].filter(([, { entry }]) => entry.default === true).map(([name]) => name);
  if (defaults.length > 1)
    file.refuse(
      entries.get(defaults[1]!)!.keys,
      `only one selector can be the default; ${defaults.map((d) => `"${d}"`).join(" and ")} both are`,
    );

  const built = new Map<string, SelectorTree>();
  const build = (name: string, stack: string[]): SelectorTree => {
    const done = built.get(name);
    if (done) return done;
    const { keys, entry } = entries.get(name)!;
    if (stack.includes(name)) file.refuse(keys, `selectors refer to each other in a cycle: ${[...stack, name].join(" -> ")}`);
    const tree = definition(entry.definition, [...keys, "definition"], name, [...stack, name]);
    built.set(name, tree);
    return tree;
  };

  const definition = (value: unknown, keys: Keys, name: string, stack: string[]): SelectorTree => {
    const fail = (message: string): never => file.refuse(keys, `selector "${name}": ${message}`);
    const checked = <T>(make: () => T): T => {
      try {
        return make();
      } catch (error) {
        if (error instanceof SelectionError) return fail(error.message);
        throw error;
      }
    };
    if (typeof value === "string") {
      // CLI syntax: every expression is checked now.
      for (const expression of value.trim().split(/[\s,]+/)) if (expression) checked(() => parseExpression(expression));
      return { args: [value] };
    }
    if (!isRecord(value)) return fail("a definition is a string or a mapping");
    for (const operator of ["union", "intersection"] as const) {
      if (!(operator in value)) continue;
      if (Object.keys(value).length > 1) return fail(`${operator} takes no other keys beside it`);
      const items = value[operator];
      if (!Array.isArray(items) || items.length === 0) return fail(`${operator} takes a non-empty list`);
      const included: SelectorTree[] = [];
      let exclude: SelectorTree | undefined;
      for (const [i, item] of items.entries()) {
        if (isRecord(item) && "exclude" in item && Object.keys(item).length === 1) {
          if (exclude) file.refuse([...keys, operator, i], `selector "${name}": a ${operator} takes one exclude`);
          exclude = excludeOf(item.exclude, [...keys, operator, i, "exclude"], name, stack);
        } else included.push(definition(item, [...keys, operator, i], name, stack));
      }
      if (included.length === 0) return fail(`${operator} needs something to include beside its exclude`);
      const tree: SelectorTree = operator === "union" ? { union: included } : { intersection: included };
      return exclude ? { ...tree, exclude } : tree;
    }
    const entries = Object.entries(value);
    const full = "method" in value && "value" in value;
    if (!full && entries.length !== 1)
      return fail(`expected one key (method: value), or method and value, got ${entries.map(([k]) => k).join(", ") || "nothing"}`);
    const [method, rawValue] = full ? [value.method, value.value] : entries[0]!;
    if (typeof method !== "string" || (typeof rawValue !== "string" && typeof rawValue !== "number" && typeof rawValue !== "boolean"))
      return fail("a method and its value are strings");
    if (method === "selector") {
      if (!entries.every(([k]) => k === "method" || k === "value" || k === "selector")) return fail("method: selector takes no other keys");
      const other = String(rawValue);
      if (!entries_has(other)) return fail(`method selector names "${other}", which selectors.yml does not define`);
      return build(other, stack);
    }
    if (full)
      for (const [key] of entries) if (!criterionKeys.has(key)) file.refuse([...keys, key], `selector "${name}": unknown key "${key}"`);
    const flag = (key: string) => {
      const v = full ? value[key] : undefined;
      if (v !== undefined && typeof v !== "boolean") file.refuse([...keys, key], `selector "${name}": ${key} is true or false`);
      return v === true;
    };
    const depth = (key: string) => {
      const v = full ? value[key] : undefined;
      if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0))
        file.refuse([...keys, key], `selector "${name}": ${key} is a whole number`);
      return v === undefined ? null : (v as number);
    };
    const indirect = full ? (value.indirect_selection ?? "eager") : "eager";
    if (!indirectSelections.includes(indirect as IndirectSelection))
      file.refuse(
        [...keys, "indirect_selection"],
        `selector "${name}": indirect_selection must be one of ${indirectSelections.join(", ")}`,
      );
    const parentsDepth = depth("parents_depth");
    const childrenDepth = depth("children_depth");
    const criterion: Criterion = {
      method,
      value: String(rawValue),
      parents: flag("parents") || parentsDepth !== null,
      parentsDepth,
      children: flag("children") || childrenDepth !== null,
      childrenDepth,
      childrensParents: flag("childrens_parents"),
      indirect: indirect as IndirectSelection,
    };
    if (criterion.childrensParents && (criterion.parents || criterion.children))
      return fail("childrens_parents combines with neither parents nor children");
    checked(() => checkCriterion(criterion, `${method}:${criterion.value}`));
    const exclude = full && value.exclude !== undefined ? excludeOf(value.exclude, [...keys, "exclude"], name, stack) : undefined;
    return exclude ? { criterion, exclude } : { criterion };
  };

  const excludeOf = (value: unknown, keys: Keys, name: string, stack: string[]): SelectorTree => {
    const items = Array.isArray(value) ? value : [value];
    const trees = items.map((item, i) => definition(item, Array.isArray(value) ? [...keys, i] : keys, name, stack));
    return trees.length === 1 ? trees[0]! : { union: trees };
  };
  const entries_has = (name: string) => entries.has(name);

  const selectors: Selectors = {};
  for (const [name, { entry }] of entries) {
    selectors[name] = {
      description: typeof entry.description === "string" ? entry.description : "",
      default: entry.default === true,
      definition: build(name, []),
    };
  }
  return selectors;
}

/** The project's selectors.yml, parsed; a CompileError names the file and line. */
export function readSelectors(file: { path: string; yaml: string } | undefined, parse: (text: string) => unknown): Selectors {
  if (!file) return {};
  let raw: unknown;
  try {
    raw = parse(file.yaml);
  } catch (error) {
    throw new CompileError(`${file.path}: invalid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  return parseSelectors(file.path, file.yaml, raw);
}
