/**
 * What the compile's phases share. In: a file's path, name and config layers. Out: a manifest
 * node with its merged, validated config, or a CompileError naming the file. The node set keeps
 * every model, seed and snapshot name unique within its package.
 */
import { isTestNode, type ManifestNode, nodeConfigSchema, testConfigKeys } from "../manifest-schema.ts";
import { mergeConfigs, type ProjectFile, treeConfigs } from "../project-file.ts";
import type { NodeProperties } from "../properties.ts";
import { RefIndex } from "../ref-lookup.ts";
import { checkIncrementalConfig } from "./config-checks.ts";
import type { CompileInputs } from "./inputs.ts";
import { configRefusal } from "./unsupported.ts";

/** A mistake in the project; the message names the file (and, for refs, the line) it came from. */
export class CompileError extends Error {
  override readonly name = "CompileError";
}

export class NodeSet {
  readonly nodes = new Map<string, ManifestNode>();
  /** Unique ids of models, seeds and snapshots by package and name: what `ref()` resolves against. */
  readonly refs: RefIndex<string>;

  constructor(root: string) {
    this.refs = new RefIndex(root);
  }

  add(node: ManifestNode): void {
    const clash = this.refs.get(node.package, node.name);
    if (clash && !isTestNode(node)) {
      throw new CompileError(`${node.path}: a node named "${node.name}" is already defined in ${this.nodes.get(clash)!.path}`);
    }
    if (!isTestNode(node)) this.refs.set(node.package, node.name, node.uniqueId);
    this.nodes.set(node.uniqueId, node);
  }

  /** Drops every node of an installed package (one that cannot be run). */
  removePackage(pkg: string): void {
    for (const [id, node] of this.nodes) if (node.package === pkg) this.nodes.delete(id);
    this.refs.deletePackage(pkg);
  }
}

export function resolveConfig(path: string, layers: Record<string, unknown>[], defaults: Record<string, unknown>): ManifestNode["config"] {
  let merged: Record<string, unknown>;
  try {
    merged = mergeConfigs([defaults, ...layers]);
  } catch (error) {
    throw new CompileError((error as Error).message);
  }
  for (const [key, value] of Object.entries(merged)) {
    const refusal = configRefusal(key, value);
    if (refusal) throw new CompileError(`${path}: ${refusal}`);
  }
  for (const key of testConfigKeys) {
    if (merged[key] === undefined) continue;
    if (defaults.materialized !== "test")
      throw new CompileError(`${path}: ${key} is a test config; it does nothing on a ${defaults.materialized}`);
  }
  const parsed = nodeConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : issue.path.join(".");
    throw new CompileError(
      `${path}: invalid config: ${issue.code === "unrecognized_keys" ? `unknown config key ${key}` : `${key}: ${issue.message}`}`,
    );
  }
  if (parsed.data.materialized === "incremental") checkIncrementalConfig(path, parsed.data);
  if (parsed.data.sla && defaults.materialized !== "view")
    throw new CompileError(`${path}: sla: only models and sources have an SLA, not a ${defaults.materialized}`);
  if (parsed.data.sla && parsed.data.materialized === "ephemeral")
    throw new CompileError(`${path}: sla: an ephemeral model is never built, so it cannot meet an SLA`);
  return parsed.data;
}

export function baseNode(
  project: string,
  resourceType: ManifestNode["resourceType"],
  name: string,
  path: string,
  config: ManifestNode["config"],
  props: NodeProperties | undefined,
): ManifestNode {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new CompileError(`${path}: node names must be identifiers (letters, digits, underscores)`);
  return {
    uniqueId: `${resourceType}.${project}.${name}`,
    resourceType,
    name,
    package: project,
    schema: "main",
    relation: config.alias ?? name,
    path,
    fqn: [project, name],
    rawSql: "",
    config,
    description: props?.description ?? "",
    columns: (props?.columns ?? []).map((c) => ({ name: c.name, description: c.description ?? "" })),
    dependsOn: { nodes: [], sources: [] },
  };
}

/** [project, folders..., name] for a file under one of the project's paths. */
export function fqnOf(
  project: string,
  path: string,
  key: "model-paths" | "seed-paths" | "test-paths" | "snapshot-paths",
  file: ProjectFile,
): string[] {
  const parts = path.split("/");
  const roots = file[key];
  const rootIndex = parts.length > 1 && roots.includes(parts[0]!) ? 1 : 0;
  const name = parts.at(-1)!.replace(/\.(sql|csv|ya?ml)$/, "");
  return [project, ...parts.slice(rootIndex, -1), name];
}

export function fileName(path: string, extension: string): string {
  return (path.split("/").pop() ?? path).replace(new RegExp(`\\${extension}$`), "");
}

/** 1-based line of the first mention of `needle` in a quoted string, for error messages. */
export function lineOf(text: string, needle: string): number {
  const at = text.search(new RegExp(`['"]${needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}['"]`));
  return at < 0 ? 1 : text.slice(0, at).split("\n").length;
}

type ConfigTree = "models" | "seeds" | "snapshots" | "data_tests" | "tests";

/**
 * A node's folder configs from one tree of its project file, outermost first; for a package's
 * node, the root project's tree follows, so `models: <package>: +enabled: false` wins, as in dbt.
 */
export function folderConfigs(inputs: CompileInputs, tree: ConfigTree, fqn: readonly string[], path: string): Record<string, unknown>[] {
  return [...treeConfigs(inputs.project[tree], fqn, path), ...(inputs.pkg ? treeConfigs(inputs.pkg.root[tree], fqn, path) : [])];
}

/** A path as the project (or package) names it, without the package's `dbt_packages/<folder>/`. */
export function ownPath(inputs: CompileInputs, path: string): string {
  return inputs.pkg && path.startsWith(inputs.pkg.prefix) ? path.slice(inputs.pkg.prefix.length) : path;
}
