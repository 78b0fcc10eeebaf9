/**
 * Reads a dbt-style project folder (the pipeline) into the manifest compile's input: the project file,
 * models, properties YAML, seeds, singular tests and docs, plus the sources Sluice's config
 * declares. Shared by `npm run build` and the offline `sluice compile` and `sluice ls`.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { declaredColumns } from "../../src/config/columns.ts";
import { parseConfig } from "../../src/config/parse.ts";
import type { SluiceConfig } from "../../src/config/schema.ts";
import type { StreamConfig } from "../../src/config/stream-schema.ts";
import { streamConfig } from "../../src/config/streams.ts";
import { createTableSql } from "../../src/db/raw-tables.ts";
import { SluiceError } from "../../src/lib/errors.ts";
import { CompileError, compileManifest, type PackageFiles, type ProjectFiles } from "../../src/models/compile/index.ts";
import { compileNode } from "../../src/models/compile-node.ts";
import type { Manifest } from "../../src/models/manifest-schema.ts";
import { type CompiledNode, type ScratchTable, validateModels } from "./validate-models.ts";

async function filesUnder(
  root: string,
  folders: readonly string[],
  extensions: readonly string[],
): Promise<{ path: string; text: string }[]> {
  const found: { path: string; text: string }[] = [];
  for (const folder of folders) {
    const dir = join(root, folder);
    if (!existsSync(dir)) continue;
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !extensions.some((e) => entry.name.endsWith(e))) continue;
      const file = join(entry.parentPath, entry.name);
      found.push({ path: relative(root, file).split(sep).join("/"), text: await readFile(file, "utf8") });
    }
  }
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

async function projectYaml(root: string): Promise<{ path: string; yaml: string } | undefined> {
  for (const file of ["sluice_project.yml", "dbt_project.yml"]) {
    if (existsSync(join(root, file))) return { path: file, yaml: await readFile(join(root, file), "utf8") };
  }
  return undefined;
}

/** packages.yml or dependencies.yml, if the project has one. */
async function packagesFile(root: string): Promise<Pick<ProjectFiles, "packages">> {
  const file = ["packages.yml", "dependencies.yml"].find((name) => existsSync(join(root, name)));
  return file === undefined ? {} : { packages: { path: file, yaml: await readFile(join(root, file), "utf8") } };
}

/** The packages `dbt deps` installed under dbt_packages/, each read as the project it is. */
async function installedPackages(root: string): Promise<PackageFiles[]> {
  const dir = join(root, "dbt_packages");
  if (!existsSync(dir)) return [];
  const folders = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  return Promise.all(folders.sort().map(async (folder) => ({ ...(await readFolder(join(dir, folder))), folder })));
}

/**
 * The pipeline's config (sluice.config.ts), validated; defaults where the folder has none. A
 * config that fails validation is reported with the file's path.
 */
export async function loadPipelineConfig(root: string): Promise<SluiceConfig> {
  const configPath = join(root, "sluice.config.ts");
  if (!existsSync(configPath)) return parseConfig({});
  const input: unknown = (await import(configPath)).default;
  try {
    return parseConfig(input);
  } catch (error) {
    throw new Error(`${relative(process.cwd(), configPath)}: ${(error as Error).message}`);
  }
}

async function declaredSources(root: string): Promise<Record<string, string[]>> {
  if (!existsSync(join(root, "sluice.config.ts"))) return {};
  const config = await loadPipelineConfig(root);
  return {
    ...Object.fromEntries(Object.entries(config.sources).map(([name, source]) => [name, Object.keys(source.streams)])),
    ...Object.fromEntries(Object.entries(config.pulls).map(([name, source]) => [name, Object.keys(source.resources)])),
  };
}

/** The folders the project file names (dbt's defaults otherwise). */
function projectPaths(yaml: string | undefined): {
  models: string[];
  seeds: string[];
  tests: string[];
  snapshots: string[];
  macros: string[];
  analyses: string[];
} {
  let project: Record<string, unknown> = {};
  try {
    project = (yaml ? parseYaml(yaml) : {}) ?? {};
  } catch {
    // compileManifest reports invalid YAML with its message.
  }
  const list = (key: string, fallback: string) => (Array.isArray(project[key]) ? (project[key] as string[]) : [fallback]);
  return {
    models: list("model-paths", "models"),
    seeds: list("seed-paths", "seeds"),
    tests: list("test-paths", "tests"),
    snapshots: list("snapshot-paths", "snapshots"),
    macros: list("macro-paths", "macros"),
    analyses: list("analysis-paths", "analyses"),
  };
}

/** A project's own files: what a root project and an installed package share. */
async function readFolder(root: string): Promise<PackageFiles> {
  const project = await projectYaml(root);
  const paths = projectPaths(project?.yaml);
  return {
    folder: "",
    ...(project === undefined ? {} : { projectYaml: project.yaml, projectPath: project.path }),
    macros: (await filesUnder(root, paths.macros, [".sql"])).map((f) => ({ path: f.path, sql: f.text })),
    analyses: (await filesUnder(root, paths.analyses, [".sql"])).map((f) => ({ path: f.path })),
    models: (await filesUnder(root, paths.models, [".sql"])).map((f) => ({ path: f.path, sql: f.text })),
    properties: (
      await filesUnder(root, [...paths.models, ...paths.seeds, ...paths.snapshots, ...paths.macros, ...paths.tests], [".yml", ".yaml"])
    ).map((f) => ({ path: f.path, yaml: f.text })),
    seeds: (await filesUnder(root, paths.seeds, [".csv"])).map((f) => ({ path: f.path, csv: f.text })),
    tests: (await filesUnder(root, paths.tests, [".sql"])).map((f) => ({ path: f.path, sql: f.text })),
    snapshots: (await filesUnder(root, paths.snapshots, [".sql"])).map((f) => ({ path: f.path, sql: f.text })),
    docs: (await filesUnder(root, [...paths.models, "docs"], [".md"])).map((f) => ({ path: f.path, markdown: f.text })),
  };
}

export async function readProjectFiles(root: string): Promise<ProjectFiles> {
  const { folder: _, ...own } = await readFolder(root);
  const selectors = existsSync(join(root, "selectors.yml")) ? await readFile(join(root, "selectors.yml"), "utf8") : undefined;
  return {
    ...own,
    ...(selectors === undefined ? {} : { selectors: { path: "selectors.yml", yaml: selectors } }),
    ...(await packagesFile(root)),
    installedPackages: await installedPackages(root),
    sources: await declaredSources(root),
  };
}

/**
 * The project compiled into the manifest, each node's SQL translated to SQLite and prepared
 * against a scratch SQLite database (validate-models.ts): a construct with no SQLite translation,
 * a syntax error, an unknown function or an unknown column is a CompileError naming file and line.
 */
export async function compileProject(root: string): Promise<Manifest> {
  return validateProject(root, await compileManifest(await readProjectFiles(root), { env: process.env }));
}

/** Checks a compiled manifest as `npm run build` does: every node's SQL translated and prepared against SQLite. */
export async function validateProject(root: string, manifest: Manifest): Promise<Manifest> {
  const config = await loadPipelineConfig(root);
  const { compiled, problems } = await compileForSqlite(manifest);
  problems.push(...validateModels(manifest, compiled, scratchSchema(manifest, config)));
  if (problems.length > 0) throw new CompileError(problems.join("\n"));
  return manifest;
}

/** Every node's SQL as the Worker will run it, and each construct the dialect layer refuses. */
export async function compileForSqlite(manifest: Manifest): Promise<{ compiled: Map<string, CompiledNode>; problems: string[] }> {
  const compiled = new Map<string, CompiledNode>();
  const problems: string[] = [];
  for (const node of manifest.nodes) {
    // A unit test's query needs D1 (its inputs' columns); it is checked when it runs.
    if (node.resourceType === "seed" || node.resourceType === "unit_test") continue;
    try {
      const sql = await compileNode(manifest, node);
      const incremental =
        node.config.materialized === "incremental" ? await compileNode(manifest, node, { isIncremental: true }) : undefined;
      compiled.set(node.uniqueId, incremental === undefined ? { sql } : { sql, incrementalSql: incremental });
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      problems.push(error.message);
    }
  }
  return { compiled, problems };
}

/**
 * The tables models read before any is built: each stream's table with its declared columns, and
 * for a source that is no stream, a stand-in. A table is open (its columns are learned from the
 * models) unless the stream declares every column it can have.
 */
export function scratchSchema(manifest: Manifest, config: SluiceConfig): ScratchTable[] {
  return manifest.sources.map((source) => {
    const stream = streamConfig(config, source.source, source.table);
    return stream
      ? {
          relation: source.relation,
          createSql: createTableSql(source.relation, stream.disposition, declaredColumns(stream)),
          open: !declaresEveryColumn(stream),
        }
      : { relation: source.relation, createSql: `CREATE TABLE "${source.relation}" ("_sluice_stand_in")`, open: true };
  });
}

/**
 * Whether a stream's table can only ever hold its declared columns: its columns are mapped, or
 * its schema strips (or, frozen, refuses) every undeclared field. A `z.looseObject` passes other
 * fields through, and schema evolution gives them columns at run time, so they are not known now.
 */
function declaresEveryColumn(stream: StreamConfig): boolean {
  if (stream.columns) return true;
  if (!stream.schema) return false;
  if (stream.contract === "freeze") return true;
  const loose = (node: unknown): boolean => {
    if (node === null || typeof node !== "object") return false;
    const schema = node as Record<string, unknown>;
    if ((schema.type === "object" || "properties" in schema) && schema.additionalProperties !== false) return true;
    // A field of any type (z.unknown()) declares no column; the data gives it one.
    const untyped = (field: unknown) => !["type", "anyOf", "oneOf", "$ref", "const", "enum"].some((key) => key in (field as object));
    if (typeof schema.properties === "object" && Object.values(schema.properties as object).some(untyped)) return true;
    return Object.values(schema).some(loose);
  };
  return !loose(z.toJSONSchema(stream.schema, { unrepresentable: "any", io: "output" }));
}
