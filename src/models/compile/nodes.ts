/**
 * What the compile's phases share. In: a file's path, name and config layers. Out: a manifest
 * node with its merged, validated config, or a CompileError naming the file. The node set keeps
 * every model, seed and snapshot name unique.
 */
import { isTestNode, type ManifestNode, nodeConfigSchema, testConfigKeys } from "../manifest-schema.ts";
import { mergeConfigs, type ProjectFile } from "../project-file.ts";
import type { NodeProperties } from "../properties.ts";
import { checkIncrementalConfig } from "./config-checks.ts";
import { configRefusal } from "./unsupported.ts";

/** A mistake in the project; the message names the file (and, for refs, the line) it came from. */
export class CompileError extends Error {
  override readonly name = "CompileError";
}

export class NodeSet {
  readonly nodes = new Map<string, ManifestNode>();
  /** Unique ids of models, seeds and snapshots by name: what `ref()` resolves against. */
  readonly byName = new Map<string, string>();

  add(node: ManifestNode): void {
    const clash = this.byName.get(node.name);
    if (clash && !isTestNode(node)) {
      throw new CompileError(`${node.path}: a node named "${node.name}" is already defined in ${this.nodes.get(clash)!.path}`);
    }
    if (!isTestNode(node)) this.byName.set(node.name, node.uniqueId);
    this.nodes.set(node.uniqueId, node);
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
