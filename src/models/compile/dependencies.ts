/**
 * What a template depends on, learned by rendering it once with recording hooks. In: a template,
 * its path and the compile's inputs. Out: the names it refs, the sources it reads and the config
 * it sets inline with `config()`. A source that is not declared is a CompileError naming the line.
 */
import { renderSql } from "../render.ts";
import type { CompileInputs } from "./inputs.ts";
import { CompileError, lineOf } from "./nodes.ts";

export interface Dependencies {
  refs: string[];
  sources: { source: string; table: string }[];
  inline: Record<string, unknown>;
}

export function templateDependencies(template: { path: string; sql: string }, relation: string, inputs: CompileInputs): Dependencies {
  const declared = new Set(inputs.sources.map((s) => `${s.source}.${s.table}`));
  const refs = new Set<string>();
  const used = new Map<string, { source: string; table: string }>();
  let inline: Record<string, unknown> = {};
  renderSql(template.sql, {
    ref: (model) => {
      refs.add(model);
      return model;
    },
    source: (source, table) => {
      if (!declared.has(`${source}.${table}`)) {
        throw new CompileError(`${template.path}:${lineOf(template.sql, table)}: source('${source}', '${table}') is not declared`);
      }
      used.set(`${source}.${table}`, { source, table });
      return `${source}.${table}`;
    },
    config: (values) => {
      inline = { ...inline, ...values };
    },
    vars: inputs.project.vars,
    relation,
    docs: inputs.docs,
  });
  return { refs: [...refs], sources: [...used.values()], inline };
}
