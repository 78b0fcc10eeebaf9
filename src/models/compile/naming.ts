/**
 * Relation names, as dbt's `generate_schema_name` and `generate_alias_name` give them (the
 * project's own override first, then dbt's default), mapped onto D1's one schema by the rule in
 * context/relation.ts. In: the node set. Out: each model's, seed's and snapshot's schema, alias
 * and relation; two nodes that would build one relation are a CompileError.
 */
import { parseTemplate, TemplateError } from "../../jinja/index.ts";
import { renderGlobals } from "../context/context.ts";
import { Relation, relationName, targetSchema } from "../context/relation.ts";
import { isTestNode, type ManifestNode } from "../manifest-schema.ts";
import type { CompileInputs } from "./inputs.ts";
import { CompileError, type NodeSet } from "./nodes.ts";

const namingTemplate = parseTemplate(
  "{{ generate_schema_name(custom_schema, node) }}\u0000{{ generate_alias_name(custom_alias, node) }}",
  "generate_schema_name",
);

export async function nameRelations(nodes: NodeSet, inputs: CompileInputs): Promise<void> {
  const owners = new Map<string, ManifestNode>();
  for (const node of nodes.nodes.values()) {
    if (isTestNode(node)) continue;
    const fixedSchema = node.resourceType === "snapshot" ? node.config.target_schema : undefined;
    const globals = renderGlobals({
      library: inputs.render.library,
      node: {
        uniqueId: node.uniqueId,
        name: node.name,
        resourceType: node.resourceType,
        package: node.package,
        path: node.path,
        config: node.config,
        relation: new Relation(targetSchema, node.name),
      },
      vars: inputs.render.vars,
      ref: () => new Relation(targetSchema, node.name),
      source: () => new Relation(targetSchema, node.name),
      execute: false,
      env: inputs.render.env,
      extra: {
        custom_schema: node.config.schema ?? null,
        custom_alias: node.config.alias ?? null,
        node: {
          name: node.name,
          resource_type: node.resourceType,
          unique_id: node.uniqueId,
          package_name: node.package,
          original_file_path: node.path,
          path: node.path,
          fqn: [node.package, node.name],
          config: node.config,
          tags: node.config.tags,
          version: null,
        },
      },
    })(inputs.project.name);
    let rendered: string;
    try {
      rendered = await namingTemplate.render(globals);
    } catch (error) {
      if (error instanceof TemplateError) throw new CompileError(`${node.path}: naming ${node.name}: ${error.message}`);
      throw error;
    }
    const [schema, alias] = rendered.split("\u0000").map((part) => part.trim()) as [string, string];
    node.schema = fixedSchema ?? (schema || targetSchema);
    node.alias = alias || node.name;
    node.relation = relationName(node.schema, node.alias);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(node.relation))
      throw new CompileError(`${node.path}: ${node.name} would be built as "${node.relation}", which is not a name D1 can hold unquoted`);
    const clash = owners.get(node.relation.toLowerCase());
    if (clash)
      throw new CompileError(
        `${node.path}: ${node.resourceType} ${node.name} and ${clash.resourceType} ${clash.name} (${clash.path}) would both be built as ${node.relation}`,
      );
    owners.set(node.relation.toLowerCase(), node);
  }
}
