/**
 * Models, singular tests and snapshots: the nodes written as Jinja templates (a snapshot declared in
 * properties YAML is the template `select * from {{ relation }}`). In: their files and
 * the compile's inputs. Out: one node per model file, test file and snapshot block, with its
 * config merged in dbt's order (folder configs, properties YAML, inline `config()`) and its
 * dependencies by name, added to the node set.
 */
import { checkSnapshotConfig, contractOf, dropUsedDataTypeNotices } from "./config-checks.ts";
import { templateDependencies } from "./dependencies.ts";
import type { CompileInputs, ProjectFiles } from "./inputs.ts";
import { baseNode, CompileError, fileName, folderConfigs, fqnOf, type NodeSet, ownPath, resolveConfig } from "./nodes.ts";
import { isGenericTestFile } from "./packages.ts";
import { slaRefusal } from "./slas.ts";
import { auditRelation } from "./test-nodes.ts";
import { configRefusal } from "./unsupported.ts";

export async function addTemplateNodes(
  nodes: NodeSet,
  files: Pick<ProjectFiles, "models" | "tests" | "snapshots">,
  inputs: CompileInputs,
): Promise<void> {
  const { project } = inputs;
  const templates = [
    ...files.models.map((m) => ({ ...m, resourceType: "model" as const, name: fileName(m.path, ".sql") })),
    ...(files.tests ?? [])
      .filter((t) => !isGenericTestFile(t.sql))
      .map((t) => ({ ...t, resourceType: "test" as const, name: fileName(t.path, ".sql") })),
    ...(files.snapshots ?? []).flatMap((file) => snapshotBlocks(file).map((block) => ({ ...block, resourceType: "snapshot" as const }))),
    ...yamlSnapshots(inputs),
  ];
  const contracted = new Set<string>();
  for (const file of templates) {
    const name = file.name;
    const props = file.resourceType === "test" ? undefined : inputs.nodeProperties.get(`${file.resourceType}s:${name}`);
    const dependencies = await templateDependencies(
      { path: file.path, sql: file.sql, name, resourceType: file.resourceType, package: project.name },
      inputs,
    );
    const fqn =
      file.resourceType === "model"
        ? fqnOf(project.name, ownPath(inputs, file.path), "model-paths", project)
        : file.resourceType === "snapshot"
          ? [...fqnOf(project.name, ownPath(inputs, file.path), "snapshot-paths", project).slice(0, -1), name]
          : fqnOf(project.name, ownPath(inputs, file.path), "test-paths", project);
    const layers =
      file.resourceType === "model"
        ? [...folderConfigs(inputs, "models", fqn, file.path), props?.config ?? {}, dependencies.inline]
        : file.resourceType === "snapshot"
          ? [...folderConfigs(inputs, "snapshots", fqn, file.path), props?.config ?? {}, dependencies.inline]
          : [
              ...folderConfigs(inputs, "data_tests", fqn, file.path),
              ...folderConfigs(inputs, "tests", fqn, file.path),
              dependencies.inline,
            ];
    for (const [key, value] of Object.entries(dependencies.inline)) {
      const refusal = configRefusal(key, value);
      if (refusal) throw new CompileError(`${file.path}:${configLine("source" in file ? String(file.source) : file.sql, key)}: ${refusal}`);
    }
    const slaProblem = dependencies.inline.sla === undefined ? undefined : slaRefusal(dependencies.inline.sla, file.resourceType);
    if (slaProblem)
      throw new CompileError(
        `${file.path}:${configLine("source" in file ? String(file.source) : file.sql, "sla")}: ${file.resourceType} ${name}: ${slaProblem}`,
      );
    const defaults = { materialized: file.resourceType === "model" ? "view" : file.resourceType };
    const config = resolveConfig(file.path, layers, defaults);
    if (file.resourceType === "snapshot") {
      checkSnapshotConfig(file.path, name, config);
      config.materialized = "snapshot";
    }
    // A project-level `+where` is for generic tests; dbt's singular tests never read it.
    if (file.resourceType === "test") delete config.where;
    if (file.resourceType === "test" && dependencies.inline.where !== undefined)
      throw new CompileError(
        `${file.path}:${configLine(file.sql, "where")}: where applies to generic tests; a singular test filters in its own SQL (dbt ignores it here)`,
      );
    const node = baseNode(project.name, file.resourceType, name, file.path, config, props);
    node.fqn = fqn;
    if (file.resourceType === "test") node.relation = auditRelation(config, config.alias ?? name);
    node.rawSql = file.sql;
    node.dependsOn = { nodes: dependencies.refs, sources: dependencies.sources };
    node.package = project.name;
    if (file.resourceType === "test") node.test = { kind: "singular" };
    if (file.resourceType === "model") {
      const contract = contractOf(node, inputs);
      if (contract) {
        node.contract = contract;
        contracted.add(name);
      }
    }
    nodes.add(node);
  }
  dropUsedDataTypeNotices(inputs, contracted);
}

/** Snapshots declared in properties YAML (dbt 1.9): a name, a `relation` to copy, and a config. */
function yamlSnapshots(inputs: CompileInputs): { path: string; sql: string; name: string; resourceType: "snapshot" }[] {
  return inputs.properties.flatMap(({ path, file }) =>
    (file.snapshots ?? [])
      .filter((entry) => entry.relation !== undefined)
      .map((entry) => ({
        path,
        name: entry.name,
        sql: `select * from {{ ${entry.relation!.trim()} }}`,
        resourceType: "snapshot" as const,
      })),
  );
}

/** 1-based line of `key=` in a template's `config(...)`, for error messages. */
function configLine(sql: string, key: string): number {
  const at = sql.search(new RegExp(`\\b${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*=`));
  return at < 0 ? 1 : sql.slice(0, at).split("\n").length;
}

/** The `{% snapshot name %} … {% endsnapshot %}` blocks of a snapshot file. */
function snapshotBlocks(file: { path: string; sql: string }): { path: string; sql: string; name: string; source: string }[] {
  const blocks = [...file.sql.matchAll(/\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}([\s\S]*?)\{%-?\s*endsnapshot\s*-?%\}/g)];
  if (blocks.length === 0) throw new CompileError(`${file.path}: no {% snapshot name %} … {% endsnapshot %} block`);
  return blocks.map((match) => ({ path: file.path, name: match[1]!, sql: match[2]!.trim(), source: file.sql }));
}
