/**
 * dbt's parse step, done at build time: project files in, a manifest out. Each template is
 * rendered once with recording hooks to learn its config, refs and sources; configs are merged
 * with dbt's precedence; YAML tests become test nodes; the graph is checked and ordered. Every
 * mistake is reported with the file (and, for refs, the line) it came from.
 */
import { parse as parseYaml } from "yaml";
import { type GenericTest, genericTestNames, testSql } from "./generic-tests.ts";
import { topologicalOrder } from "./graph.ts";
import { type Manifest, type ManifestNode, nodeConfigSchema, type SourceTable } from "./project.ts";
import { mergeConfigs, type ProjectFile, projectFileSchema, treeConfigs } from "./project-file.ts";
import { type NodeProperties, type PropertiesFile, propertiesFileSchema, type TestEntry, testsOf } from "./properties.ts";
import { renderSql } from "./render.ts";
import { parseSeed } from "./seeds.ts";

export interface ProjectFiles {
  /** The project file's YAML; absent means a project named `sluice` with defaults. */
  projectYaml?: string;
  /** Paths relative to the project folder, e.g. `models/staging/stg_orders.sql`. */
  models: readonly { path: string; sql: string }[];
  properties?: readonly { path: string; yaml: string }[];
  seeds?: readonly { path: string; csv: string }[];
  tests?: readonly { path: string; sql: string }[];
  /** Files holding `{% snapshot name %} … {% endsnapshot %}` blocks. */
  snapshots?: readonly { path: string; sql: string }[];
  docs?: readonly { path: string; markdown: string }[];
  /** Sluice's own sources (webhooks and pulls): source name to its streams. */
  sources: Readonly<Record<string, readonly string[]>>;
}

/** Kept for callers that pass only models and sources. */
export interface BuildInput extends ProjectFiles {
  project?: string;
}

export class BuildError extends Error {
  override readonly name = "BuildError";
}

export function buildManifest(input: BuildInput): Manifest {
  try {
    return build(input);
  } catch (error) {
    if (error instanceof BuildError) throw error;
    throw new BuildError((error as Error).message);
  }
}

function build(input: BuildInput): Manifest {
  const project = readProject(input);
  const properties = (input.properties ?? []).map(({ path, yaml }) => ({ path, file: readProperties(path, yaml) }));
  const docs = readDocs(input.docs ?? []);
  const sources = readSources(project.name, input.sources, properties);
  const sourceKeys = new Set(sources.map((s) => `${s.source}.${s.table}`));
  const nodeProps = new Map<string, { path: string; props: NodeProperties; kind: "models" | "seeds" }>();
  for (const { path, file } of properties) {
    for (const kind of ["models", "seeds"] as const)
      for (const props of file[kind] ?? []) nodeProps.set(`${kind}:${props.name}`, { path, props, kind });
  }

  const nodes = new Map<string, ManifestNode>();
  const byName = new Map<string, string>();
  const add = (node: ManifestNode) => {
    const clash = byName.get(node.name);
    if (clash && node.resourceType !== "test") {
      throw new BuildError(`${node.path}: a node named "${node.name}" is already defined in ${nodes.get(clash)!.path}`);
    }
    if (node.resourceType !== "test") byName.set(node.name, node.uniqueId);
    nodes.set(node.uniqueId, node);
  };

  for (const seed of input.seeds ?? []) {
    const name = fileName(seed.path, ".csv");
    const props = nodeProps.get(`seeds:${name}`)?.props;
    const config = resolveConfig(
      seed.path,
      [...treeConfigs(project.seeds, fqnOf(project.name, seed.path, "seed-paths", project), seed.path), props?.config ?? {}],
      { materialized: "seed" },
    );
    let data: ReturnType<typeof parseSeed>;
    try {
      data = parseSeed(seed.csv, config.column_types ?? {});
    } catch (error) {
      throw new BuildError(`${seed.path}: ${(error as Error).message}`);
    }
    add({ ...baseNode(project.name, "seed", name, seed.path, config, props), seed: data });
  }

  const renderHooks = (path: string, sql: string, refs: Set<string>, used: Map<string, { source: string; table: string }>) => ({
    ref: (model: string) => {
      refs.add(model);
      return model;
    },
    source: (source: string, table: string) => {
      if (!sourceKeys.has(`${source}.${table}`)) {
        throw new BuildError(`${path}:${lineOf(sql, table)}: source('${source}', '${table}') is not declared`);
      }
      used.set(`${source}.${table}`, { source, table });
      return `${source}.${table}`;
    },
  });

  const templated = [
    ...input.models.map((m) => ({ ...m, resourceType: "model" as const, name: fileName(m.path, ".sql") })),
    ...(input.tests ?? []).map((t) => ({ ...t, resourceType: "test" as const, name: fileName(t.path, ".sql") })),
    ...(input.snapshots ?? []).flatMap((file) => snapshotBlocks(file).map((block) => ({ ...block, resourceType: "snapshot" as const }))),
  ];
  for (const file of templated) {
    const name = file.name;
    const refs = new Set<string>();
    const used = new Map<string, { source: string; table: string }>();
    let inline: Record<string, unknown> = {};
    const props = file.resourceType === "model" ? nodeProps.get(`models:${name}`)?.props : undefined;
    try {
      renderSql(file.sql, {
        ...renderHooks(file.path, file.sql, refs, used),
        config: (values) => {
          inline = { ...inline, ...values };
        },
        vars: project.vars,
        relation: name,
        docs,
      });
    } catch (error) {
      if (error instanceof BuildError) throw error;
      throw new BuildError(`${file.path}: cannot render template: ${(error as Error).message}`);
    }
    const layers =
      file.resourceType === "model"
        ? [...treeConfigs(project.models, fqnOf(project.name, file.path, "model-paths", project), file.path), props?.config ?? {}, inline]
        : file.resourceType === "snapshot"
          ? [...treeConfigs(project.snapshots, [project.name, name], file.path), inline]
          : [
              ...treeConfigs(project.data_tests, [project.name], file.path),
              ...treeConfigs(project.tests, [project.name], file.path),
              inline,
            ];
    const defaults = { materialized: file.resourceType === "model" ? "view" : file.resourceType };
    const config = resolveConfig(file.path, layers, defaults);
    if (file.resourceType === "snapshot") {
      if (config.strategy !== "timestamp" || !config.unique_key || !config.updated_at) {
        throw new BuildError(`${file.path}: snapshot ${name} needs strategy='timestamp', unique_key and updated_at`);
      }
      config.materialized = "snapshot";
    }
    const node = baseNode(project.name, file.resourceType, name, file.path, config, props);
    node.rawSql = file.sql;
    node.dependsOn = { nodes: [...refs], sources: [...used.values()] };
    if (file.resourceType === "test") node.test = { kind: "singular" };
    add(node);
  }

  // Generic tests from properties YAML, on models, seeds and source tables.
  const generic: ManifestNode[] = [];
  for (const { path, file } of properties) {
    for (const kind of ["models", "seeds"] as const) {
      for (const props of file[kind] ?? []) {
        if (!byName.has(props.name))
          throw new BuildError(`${path}: properties for ${kind.slice(0, -1)} "${props.name}", which does not exist`);
        for (const column of props.columns ?? []) {
          for (const entry of testsOf(column))
            generic.push(genericTest(project.name, path, `ref('${props.name}')`, props.name, column.name, entry));
        }
        for (const entry of testsOf(props))
          generic.push(genericTest(project.name, path, `ref('${props.name}')`, props.name, undefined, entry));
      }
    }
    for (const source of file.sources ?? []) {
      for (const table of source.tables) {
        for (const column of table.columns ?? []) {
          for (const entry of testsOf(column)) {
            generic.push(
              genericTest(
                project.name,
                path,
                `source('${source.name}', '${table.name}')`,
                `${source.name}_${table.name}`,
                column.name,
                entry,
              ),
            );
          }
        }
      }
    }
  }
  const testIds = new Map<string, number>();
  for (const test of generic) {
    const count = (testIds.get(test.uniqueId) ?? 0) + 1;
    testIds.set(test.uniqueId, count);
    if (count > 1) {
      test.uniqueId = `${test.uniqueId}_${count}`;
      test.name = `${test.name}_${count}`;
    }
    const refs = new Set<string>();
    const used = new Map<string, { source: string; table: string }>();
    renderSql(test.rawSql, { ...renderHooks(test.path, test.rawSql, refs, used), vars: project.vars, relation: test.name, docs });
    test.dependsOn = { nodes: [...refs], sources: [...used.values()] };
    add(test);
  }

  // Refs by name become unique ids; a ref to nothing is an error naming file and line.
  for (const node of nodes.values()) {
    node.dependsOn.nodes = node.dependsOn.nodes.map((ref) => {
      const id = byName.get(ref);
      if (!id) throw new BuildError(`${node.path}:${lineOf(node.rawSql, ref)}: ref('${ref}') names no model, seed or snapshot`);
      return id;
    });
  }

  // A model, seed or snapshot built into a stream's table would replace the landed records.
  const streamTables = new Map(sources.map((s) => [s.relation.toLowerCase(), s]));
  for (const node of nodes.values()) {
    const table = node.resourceType === "test" ? undefined : streamTables.get(node.relation.toLowerCase());
    if (table)
      throw new BuildError(
        `${node.path}: ${node.resourceType} "${node.name}" would be built as ${node.relation}, the table stream ${table.source}/${table.table} lands in; rename it`,
      );
  }

  const ordered = buildOrder(nodes);
  return { version: 2, project: project.name, generatedAt: new Date().toISOString(), vars: project.vars, nodes: ordered, sources, docs };
}

/**
 * Every node after its parents; and every node after the tests of its parents, so that a failed
 * test can stop what is built on the model it tests (a test that also depends on the node
 * itself, like a relationships test, cannot, and is left out of that rule).
 */
function buildOrder(nodes: Map<string, ManifestNode>): ManifestNode[] {
  const testsOf = new Map<string, string[]>();
  for (const node of nodes.values()) {
    if (node.resourceType !== "test") continue;
    for (const parent of node.dependsOn.nodes) testsOf.set(parent, [...(testsOf.get(parent) ?? []), node.uniqueId]);
  }
  // An ephemeral model is inlined into its children, so its parents are theirs too.
  const effectiveParents = (node: ManifestNode, seen = new Set<string>()): string[] =>
    node.dependsOn.nodes.flatMap((id) => {
      const parent = nodes.get(id)!;
      if (parent.config.materialized !== "ephemeral" || seen.has(id)) return [id];
      seen.add(id);
      return [id, ...effectiveParents(parent, seen)];
    });
  const edges = new Map<string, string[]>();
  for (const node of nodes.values()) {
    const parents = [...node.dependsOn.nodes];
    if (node.resourceType !== "test") {
      for (const parent of effectiveParents(node)) {
        for (const test of testsOf.get(parent) ?? []) if (!nodes.get(test)!.dependsOn.nodes.includes(node.uniqueId)) parents.push(test);
      }
    }
    edges.set(node.uniqueId, parents);
  }
  let order: string[];
  try {
    order = topologicalOrder(edges);
  } catch (error) {
    const names = (error as Error).message.replace(/[^\s>-]+\.[^\s>-]+\.([^\s>-]+)/g, "$1");
    throw new BuildError(names);
  }
  return order.map((id) => nodes.get(id)!);
}

function readProject(input: BuildInput): ProjectFile {
  let raw: unknown = { name: input.project ?? "sluice" };
  if (input.projectYaml !== undefined) {
    try {
      raw = parseYaml(input.projectYaml) ?? {};
    } catch (error) {
      throw new BuildError(`project file: invalid YAML: ${(error as Error).message}`);
    }
  }
  const parsed = projectFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BuildError(`project file: ${issue.path.join(".") || "name"}: ${issue.message}`);
  }
  return parsed.data;
}

function readProperties(path: string, yaml: string): PropertiesFile {
  let raw: unknown;
  try {
    raw = parseYaml(yaml) ?? {};
  } catch (error) {
    throw new BuildError(`${path}: invalid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  const parsed = propertiesFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BuildError(`${path}: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

/** `{% docs name %}…{% enddocs %}` blocks from Markdown files. */
function readDocs(files: readonly { path: string; markdown: string }[]): Record<string, string> {
  const docs: Record<string, string> = {};
  for (const file of files) {
    for (const match of file.markdown.matchAll(/\{%-?\s*docs\s+([A-Za-z0-9_]+)\s*-?%\}([\s\S]*?)\{%-?\s*enddocs\s*-?%\}/g)) {
      docs[match[1]!] = match[2]!.trim();
    }
  }
  return docs;
}

/** Sources: Sluice's streams, plus (and described by) the `sources:` of properties YAML. */
function readSources(
  project: string,
  declared: Readonly<Record<string, readonly string[]>>,
  properties: { path: string; file: PropertiesFile }[],
): SourceTable[] {
  const tables = new Map<string, SourceTable>();
  for (const [source, streams] of Object.entries(declared)) {
    for (const table of streams) {
      tables.set(`${source}.${table}`, {
        uniqueId: `source.${project}.${source}.${table}`,
        source,
        table,
        relation: `raw_${source}__${table}`,
        description: "",
        loadedAtField: "_sluice_received_at",
        freshness: null,
      });
    }
  }
  for (const { file } of properties) {
    for (const source of file.sources ?? []) {
      for (const table of source.tables) {
        const key = `${source.name}.${table.name}`;
        const known = tables.get(key);
        tables.set(key, {
          uniqueId: `source.${project}.${source.name}.${table.name}`,
          source: source.name,
          table: table.name,
          relation: table.identifier ?? known?.relation ?? `raw_${source.name}__${table.name}`,
          description: table.description ?? source.description ?? "",
          loadedAtField: table.loaded_at_field ?? source.loaded_at_field ?? "_sluice_received_at",
          freshness: (table.freshness === undefined ? source.freshness : table.freshness) ?? null,
        });
      }
    }
  }
  return [...tables.values()];
}

function genericTest(
  project: string,
  path: string,
  relation: string,
  target: string,
  column: string | undefined,
  entry: TestEntry,
): ManifestNode {
  const [name, spec] = typeof entry === "string" ? [entry, {}] : (Object.entries(entry)[0] ?? ["", {}]);
  const args = (spec && typeof spec === "object" ? spec : {}) as Record<string, unknown>;
  if (!genericTestNames.has(name))
    throw new BuildError(`${path}: unknown test "${name}" (Sluice runs unique, not_null, accepted_values and relationships)`);
  const testColumn = (args.column_name as string | undefined) ?? column;
  if (!testColumn) throw new BuildError(`${path}: the ${name} test on ${target} needs a column`);
  const { config: testConfig, ...testArgs } = args;
  const config = resolveConfig(path, [(testConfig ?? {}) as Record<string, unknown>], { materialized: "test" });
  let sql: string;
  try {
    sql = testSql({ name: name as GenericTest["name"], relation, column: testColumn, args: testArgs });
  } catch (error) {
    throw new BuildError(`${path}: ${name} test on ${target}.${testColumn}: ${(error as Error).message}`);
  }
  const testName = `${name}_${target}_${testColumn}`;
  const node = baseNode(project, "test", testName, path, config, undefined);
  node.rawSql = sql;
  node.test = { kind: "generic", name, attachedTo: target, column: testColumn };
  return node;
}

function resolveConfig(path: string, layers: Record<string, unknown>[], defaults: Record<string, unknown>): ManifestNode["config"] {
  let merged: Record<string, unknown>;
  try {
    merged = mergeConfigs([defaults, ...layers]);
  } catch (error) {
    throw new BuildError((error as Error).message);
  }
  const parsed = nodeConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : issue.path.join(".");
    throw new BuildError(
      `${path}: invalid config: ${issue.code === "unrecognized_keys" ? `unknown config key ${key}` : `${key}: ${issue.message}`}`,
    );
  }
  return parsed.data;
}

function baseNode(
  project: string,
  resourceType: ManifestNode["resourceType"],
  name: string,
  path: string,
  config: ManifestNode["config"],
  props: NodeProperties | undefined,
): ManifestNode {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new BuildError(`${path}: node names must be identifiers (letters, digits, underscores)`);
  return {
    uniqueId: `${resourceType}.${project}.${name}`,
    resourceType,
    name,
    relation: config.alias ?? name,
    path,
    rawSql: "",
    config,
    description: props?.description ?? "",
    columns: (props?.columns ?? []).map((c) => ({ name: c.name, description: c.description ?? "" })),
    dependsOn: { nodes: [], sources: [] },
  };
}

/** [project, folders..., name] for a file under one of the project's paths. */
function fqnOf(project: string, path: string, key: "model-paths" | "seed-paths", file: ProjectFile): string[] {
  const parts = path.split("/");
  const roots = file[key];
  const rootIndex = parts.length > 1 && roots.includes(parts[0]!) ? 1 : 0;
  const name = parts.at(-1)!.replace(/\.(sql|csv)$/, "");
  return [project, ...parts.slice(rootIndex, -1), name];
}

/** The `{% snapshot name %} … {% endsnapshot %}` blocks of a snapshot file. */
function snapshotBlocks(file: { path: string; sql: string }): { path: string; sql: string; name: string }[] {
  const blocks = [...file.sql.matchAll(/\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}([\s\S]*?)\{%-?\s*endsnapshot\s*-?%\}/g)];
  if (blocks.length === 0) throw new BuildError(`${file.path}: no {% snapshot name %} … {% endsnapshot %} block`);
  return blocks.map((match) => ({ path: file.path, name: match[1]!, sql: match[2]!.trim() }));
}

function fileName(path: string, extension: string): string {
  return (path.split("/").pop() ?? path).replace(new RegExp(`\\${extension}$`), "");
}

/** 1-based line of the first mention of `needle` in a quoted string, for error messages. */
function lineOf(text: string, needle: string): number {
  const at = text.search(new RegExp(`['"]${needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}['"]`));
  return at < 0 ? 1 : text.slice(0, at).split("\n").length;
}
