/**
 * dbt's parse step, done at build time: model files in, a manifest out. Each template is
 * rendered once with recording hooks to learn its config, refs and sources; refs are checked,
 * the graph is sorted, and every mistake is reported with the file and line it came from.
 */
import { topologicalOrder } from "./graph.ts";
import { type Manifest, type ModelNode, modelConfigSchema } from "./project.ts";
import { renderSql } from "./render.ts";

export interface ModelFile {
  /** Path relative to the pipeline folder, e.g. `models/marts/events_per_day.sql`. */
  path: string;
  sql: string;
}

export interface BuildInput {
  project: string;
  models: readonly ModelFile[];
  /** Declared sources: source name to its tables (streams). */
  sources: Readonly<Record<string, readonly string[]>>;
}

export class BuildError extends Error {
  override readonly name = "BuildError";
}

export function buildManifest(input: BuildInput): Manifest {
  const nodes = new Map<string, ModelNode>();
  for (const file of input.models) {
    const name = modelName(file.path);
    if (nodes.has(name)) {
      throw new BuildError(`${file.path}: a model named "${name}" is already defined in ${nodes.get(name)!.path}`);
    }
    nodes.set(name, parseModel(input, file, name));
  }

  for (const node of nodes.values()) {
    for (const parent of node.dependsOn.models) {
      if (!nodes.has(parent)) {
        throw new BuildError(`${node.path}:${lineOf(node.rawSql, parent)}: ref('${parent}') names no model`);
      }
    }
  }

  let order: string[];
  try {
    order = topologicalOrder(new Map([...nodes].map(([name, node]) => [name, node.dependsOn.models])));
  } catch (error) {
    throw new BuildError((error as Error).message);
  }
  const sorted = order.map((name) => nodes.get(name)!);
  // Refs are stored as unique ids from here on, as dbt's depends_on.nodes are.
  const uniqueIds = new Map(sorted.map((node) => [node.name, node.uniqueId]));
  for (const node of sorted) node.dependsOn.models = node.dependsOn.models.map((name) => uniqueIds.get(name)!);
  return { version: 1, project: input.project, generatedAt: new Date().toISOString(), nodes: sorted };
}

function parseModel(input: BuildInput, file: ModelFile, name: string): ModelNode {
  const refs = new Set<string>();
  const sources = new Map<string, { source: string; table: string }>();
  let configured: Record<string, unknown> = {};
  try {
    renderSql(file.sql, {
      ref: (model) => {
        refs.add(model);
        return model;
      },
      source: (source, table) => {
        if (!input.sources[source]?.includes(table)) {
          throw new BuildError(`${file.path}:${lineOf(file.sql, table)}: source('${source}', '${table}') is not declared`);
        }
        sources.set(`${source}.${table}`, { source, table });
        return `${source}.${table}`;
      },
      config: (values) => {
        configured = { ...configured, ...values };
      },
    });
  } catch (error) {
    if (error instanceof BuildError) throw error;
    throw new BuildError(`${file.path}: cannot render template: ${(error as Error).message}`);
  }
  const config = modelConfigSchema.safeParse(configured);
  if (!config.success) {
    const issue = config.error.issues[0]!;
    throw new BuildError(`${file.path}: invalid config(): ${issue.path.join(".") || "config"}: ${issue.message}`);
  }
  return {
    uniqueId: `model.${input.project}.${name}`,
    name,
    path: file.path,
    rawSql: file.sql,
    config: config.data,
    dependsOn: { models: [...refs], sources: [...sources.values()] },
  };
}

function modelName(path: string): string {
  const file = path.split("/").pop() ?? path;
  const name = file.replace(/\.sql$/, "");
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new BuildError(`${path}: model names must be identifiers (letters, digits, underscores)`);
  }
  return name;
}

/** 1-based line of the first mention of `needle` in a quoted string, for error messages. */
function lineOf(text: string, needle: string): number {
  const at = text.search(new RegExp(`['"]${needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}['"]`));
  return at < 0 ? 1 : text.slice(0, at).split("\n").length;
}
