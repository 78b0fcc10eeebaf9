import { memoize } from "./memo.ts";

/** Dot paths into JSON records (`data.object.id`, optionally `$.`-prefixed), for mappings and transforms. */
export const pathParts = memoize(1000, (path): readonly string[] => (path.startsWith("$.") ? path.slice(2) : path).split("."));

export function getPath(record: unknown, path: string): unknown {
  let value: unknown = record;
  for (const part of pathParts(path)) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Calls `update` on the value at `path` if it exists; `update` returns the new value, or undefined to delete it. */
export function updatePath(record: unknown, path: string, update: (value: unknown) => unknown): void {
  const parts = pathParts(path);
  let parent: unknown = record;
  for (const part of parts.slice(0, -1)) {
    if (parent === null || typeof parent !== "object") return;
    parent = (parent as Record<string, unknown>)[part];
  }
  const last = parts[parts.length - 1]!;
  if (parent === null || typeof parent !== "object" || !Object.hasOwn(parent, last)) return;
  const next = update((parent as Record<string, unknown>)[last]);
  if (next === undefined) delete (parent as Record<string, unknown>)[last];
  else (parent as Record<string, unknown>)[last] = next;
}
