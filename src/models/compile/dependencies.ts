/**
 * What a template depends on, learned by rendering it once as dbt's parse does: with the full
 * context but `execute` false, so `ref` and `source` record what they are given and macros run
 * without D1. In: a template, its node and the compile's inputs. Out: the refs it makes, the
 * sources it reads and the config it sets inline with `config()`. A source that is not declared is
 * a CompileError naming the line.
 */
import { parseTemplate, TemplateError } from "../../jinja/index.ts";
import { renderGlobals } from "../context/context.ts";
import { Relation, targetSchema } from "../context/relation.ts";
import type { CompileInputs } from "./inputs.ts";
import { CompileError, lineOf } from "./nodes.ts";

export interface Dependencies {
  /** Refs as `name` or `package.name`. */
  refs: string[];
  sources: { source: string; table: string }[];
  inline: Record<string, unknown>;
}

export interface TemplateNode {
  path: string;
  sql: string;
  name: string;
  resourceType: string;
  package: string;
  config?: Record<string, unknown>;
  /** Extra globals (a generic test's arguments). */
  extra?: Record<string, unknown>;
}

export async function templateDependencies(template: TemplateNode, inputs: CompileInputs): Promise<Dependencies> {
  const declared = new Set(inputs.sources.map((s) => `${s.source}.${s.table}`));
  const refs = new Set<string>();
  const used = new Map<string, { source: string; table: string }>();
  let inline: Record<string, unknown> = {};
  const globalsFor = renderGlobals({
    library: inputs.render.library,
    node: {
      uniqueId: `${template.resourceType}.${template.package}.${template.name}`,
      name: template.name,
      resourceType: template.resourceType,
      package: template.package,
      path: template.path,
      config: template.config ?? {},
      relation: new Relation(targetSchema, template.name),
      rawSql: template.sql,
    },
    vars: inputs.render.vars,
    ref: (name, pkg) => {
      refs.add(pkg === undefined ? name : `${pkg}.${name}`);
      return new Relation(targetSchema, name);
    },
    source: (source, table) => {
      if (!declared.has(`${source}.${table}`)) {
        throw new CompileError(`${template.path}:${lineOf(template.sql, table)}: source('${source}', '${table}') is not declared`);
      }
      used.set(`${source}.${table}`, { source, table });
      return new Relation(targetSchema, `${source}__${table}`);
    },
    onConfig: (values) => {
      inline = { ...inline, ...values };
    },
    execute: false,
    docs: inputs.docs,
    env: inputs.render.env,
    ...(template.extra ? { extra: template.extra } : {}),
  });
  try {
    await parseTemplate(template.sql, template.path).render(globalsFor(template.package));
  } catch (error) {
    if (error instanceof CompileError) throw error;
    if (error instanceof TemplateError) throw new CompileError(error.message);
    throw new CompileError(`${template.path}: cannot render template: ${(error as Error).message}`);
  }
  return { refs: [...refs], sources: [...used.values()], inline };
}
