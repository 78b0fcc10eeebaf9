/**
 * dbt renders the project file when it parses it: a config such as
 * `+enabled: "{{ var('load_source_data', false) }}"` takes the value of the run's vars. In: the
 * project file's config trees and the render setup. Out: the same trees with every templated
 * string rendered and read back as a Python literal would be (`False` is false, `3` is 3). Hooks
 * stay templates: they render when they run.
 */
import { parseTemplate, TemplateError } from "../../jinja/index.ts";
import { renderGlobals } from "../context/context.ts";
import { Relation, targetSchema } from "../context/relation.ts";
import type { ProjectFile } from "../project-file.ts";
import type { RenderSetup } from "./inputs.ts";
import { CompileError } from "./nodes.ts";

const trees = ["models", "seeds", "snapshots", "tests", "data_tests", "unit_tests"] as const;
const unrendered = new Set(["pre-hook", "post-hook", "pre_hook", "post_hook"]);

/** A rendered string as Python's literal_eval would read it, as dbt's native rendering does. */
export function nativeValue(text: string): unknown {
  const value = text.trim();
  if (value === "True" || value === "true") return true;
  if (value === "False" || value === "false") return false;
  if (value === "None" || value === "none") return null;
  if (/^-?\d+$/.test(value)) return Number(value);
  if (/^-?\d+\.\d*$/.test(value)) return Number(value);
  return text;
}

export async function renderProjectConfigs(project: ProjectFile, setup: RenderSetup, path: string): Promise<void> {
  const globals = renderGlobals({
    library: setup.library,
    node: {
      uniqueId: `project.${project.name}`,
      name: project.name,
      resourceType: "project",
      package: project.name,
      path,
      config: {},
      relation: new Relation(targetSchema, project.name),
    },
    vars: setup.vars,
    ref: () => {
      throw new CompileError(`${path}: ref() cannot be used in the project file`);
    },
    source: () => {
      throw new CompileError(`${path}: source() cannot be used in the project file`);
    },
    execute: false,
    env: setup.env,
  })(project.name);
  const render = async (value: unknown, key: string): Promise<unknown> => {
    if (typeof value === "string" && /\{[{%]/.test(value) && !unrendered.has(key.replace(/^\+/, ""))) {
      try {
        return nativeValue(await parseTemplate(value, path).render(globals));
      } catch (error) {
        if (error instanceof TemplateError) throw new CompileError(`${path}: ${key}: ${error.message}`);
        throw error;
      }
    }
    if (Array.isArray(value)) return Promise.all(value.map((item) => render(item, key)));
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = await render(v, k);
      return out;
    }
    return value;
  };
  for (const tree of trees) (project as Record<string, unknown>)[tree] = await render(project[tree], tree);
}
