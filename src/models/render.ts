/**
 * Renders Jinja SQL with `@huggingface/jinja`, a pure interpreter (workerd forbids compiling
 * templates into functions). The same code runs in the manifest compile, to discover refs,
 * sources and config, and in the Worker, to produce the SQL that runs. Supplies dbt's context: `ref`,
 * `source`, `config`, `var`, `this`, `is_incremental()` and `doc()`.
 */
import { parse, Template, tokenize } from "@huggingface/jinja";

export interface RenderHooks {
  ref(model: string): string;
  source(source: string, table: string): string;
  /** Receives `config(...)` keyword arguments; renders as nothing, as in dbt. */
  config?(values: Record<string, unknown>): void;
  /** Project vars, for `var('name', default)`. */
  vars?: Record<string, unknown>;
  /** What `{{ this }}` renders as: the node's own relation. */
  relation?: string;
  isIncremental?: boolean;
  docs?: Record<string, string>;
}

export class RenderError extends Error {
  override readonly name = "RenderError";
}

/**
 * A template parsed with Jinja2's defaults, as dbt uses them: no `trim_blocks`, no
 * `lstrip_blocks`, so whitespace renders exactly as Python's Jinja2 renders it. (The library's
 * `Template` turns both on, for chat templates.)
 */
function jinja2Template(source: string): Template {
  const template = new Template("");
  (template as unknown as { parsed: unknown }).parsed = parse(tokenize(source, { lstrip_blocks: false, trim_blocks: false }));
  return template;
}

export function renderSql(template: string, hooks: RenderHooks): string {
  return jinja2Template(template).render({
    ref: (model: unknown) => hooks.ref(String(model)),
    source: (source: unknown, table: unknown) => hooks.source(String(source), String(table)),
    config: (kwargs: unknown) => {
      hooks.config?.(toPlain(kwargs) as Record<string, unknown>);
      return "";
    },
    var: (name: unknown, fallback?: unknown) => {
      const key = String(name);
      if (hooks.vars && Object.hasOwn(hooks.vars, key)) return hooks.vars[key];
      if (fallback !== undefined) return toPlain(fallback);
      throw new RenderError(`var('${key}') is not defined in the project's vars and has no default`);
    },
    this: hooks.relation ?? "",
    is_incremental: () => hooks.isIncremental === true,
    doc: (name: unknown) => hooks.docs?.[String(name)] ?? "",
  });
}

/** Converts the interpreter's runtime values (keyword-argument maps, wrapped scalars) to JS. */
function toPlain(value: unknown): unknown {
  if (value instanceof Map) {
    return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), toPlain(v)]));
  }
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === "object" && "value" in value && "type" in value) {
    return toPlain((value as { value: unknown }).value);
  }
  return value;
}
