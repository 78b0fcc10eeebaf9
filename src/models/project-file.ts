/**
 * The project file (`dbt_project.yml` or `sluice_project.yml`) and dbt's config precedence. A
 * node's config is its folder configs from the project file, outermost first (tags add up, every
 * other key replaces), then its properties YAML, then its in-file `config()`.
 */
import { z } from "zod";
import { configKeys } from "./manifest-schema.ts";

export const projectFileSchema = z.looseObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "the project name must be an identifier"),
  "model-paths": z.array(z.string()).default(["models"]),
  "seed-paths": z.array(z.string()).default(["seeds"]),
  "test-paths": z.array(z.string()).default(["tests"]),
  "snapshot-paths": z.array(z.string()).default(["snapshots"]),
  vars: z.record(z.string(), z.unknown()).default({}),
  /** Where `adapter.dispatch` looks for a namespace's macros. */
  dispatch: z.array(z.object({ macro_namespace: z.string(), search_order: z.array(z.string()).min(1) })).default([]),
  "macro-paths": z.array(z.string()).default(["macros"]),
  models: z.record(z.string(), z.unknown()).default({}),
  seeds: z.record(z.string(), z.unknown()).default({}),
  snapshots: z.record(z.string(), z.unknown()).default({}),
  tests: z.record(z.string(), z.unknown()).default({}),
  data_tests: z.record(z.string(), z.unknown()).default({}),
  unit_tests: z.record(z.string(), z.unknown()).default({}),
  /** Source configs by path: Sluice reads `+sla` here (compile/slas.ts). */
  sources: z.record(z.string(), z.unknown()).default({}),
  "on-run-start": z.union([z.string(), z.array(z.string())]).optional(),
  "on-run-end": z.union([z.string(), z.array(z.string())]).optional(),
});

export type ProjectFile = z.output<typeof projectFileSchema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Folder-level configs for a node at `fqn` (project name, folders..., node name) from one tree of
 * the project file, outermost first. `+key` is always a config; a bare key is a config when it
 * names one, and otherwise a folder (as in dbt).
 */
export function treeConfigs(tree: Record<string, unknown>, fqn: readonly string[], where: string): Record<string, unknown>[] {
  const layers: Record<string, unknown>[] = [];
  let level: unknown = tree;
  for (const part of fqn) {
    if (level === null || typeof level !== "object") break;
    const layer: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(level as Record<string, unknown>)) {
      if (key.startsWith("+")) {
        const name = key.slice(1);
        if (!configKeys.has(name)) throw new ConfigError(`${where}: unknown config key "${key}"`);
        layer[name] = value;
      } else if (configKeys.has(key) && (value === null || typeof value !== "object" || Array.isArray(value))) {
        layer[key] = value;
      }
    }
    layers.push(layer);
    level = (level as Record<string, unknown>)[part];
  }
  if (level !== null && typeof level === "object" && fqn.length > 0) {
    const leaf: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(level as Record<string, unknown>)) {
      const name = key.startsWith("+") ? key.slice(1) : key;
      if (configKeys.has(name) && (key.startsWith("+") || typeof value !== "object" || value === null || Array.isArray(value)))
        leaf[name] = value;
    }
    layers.push(leaf);
  }
  return layers;
}

const hookKeys: Record<string, "pre_hook" | "post_hook"> = {
  "pre-hook": "pre_hook",
  pre_hook: "pre_hook",
  "post-hook": "post_hook",
  post_hook: "post_hook",
};

/**
 * Merges config layers, lowest precedence first: tags accumulate, and so do hooks (as in dbt, the
 * model's own hooks run before those of its properties and of the project file); every other key
 * replaces.
 */
export function mergeConfigs(layers: readonly Record<string, unknown>[]): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  const tags: string[] = [];
  const hooks: Record<"pre_hook" | "post_hook", unknown[]> = { pre_hook: [], post_hook: [] };
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      if (key === "tags") {
        for (const tag of Array.isArray(value) ? value : [value]) if (!tags.includes(String(tag))) tags.push(String(tag));
      } else if (Object.hasOwn(hookKeys, key)) {
        const list = hooks[hookKeys[key]!];
        list.unshift(...(Array.isArray(value) ? value : [value]));
      } else merged[key] = value;
    }
  }
  if (tags.length > 0) merged.tags = tags;
  for (const key of ["pre_hook", "post_hook"] as const) if (hooks[key].length > 0) merged[key] = hooks[key];
  return merged;
}

/** `on-run-start` or `on-run-end` of the project file as a list. */
export function runHooks(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
