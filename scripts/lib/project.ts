/**
 * Reads a dbt-style project folder (the pipeline) into the manifest compile's input: the project file,
 * models, properties YAML, seeds, singular tests and docs, plus the sources Sluice's config
 * declares. Shared by `npm run build` and the offline `sluice compile` and `sluice ls`.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../../src/config/parse.ts";
import type { SluiceConfig } from "../../src/config/schema.ts";
import { compileManifest, type ProjectFiles } from "../../src/models/compile/index.ts";
import type { Manifest } from "../../src/models/manifest-schema.ts";

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

/** packages.yml or dependencies.yml, and the packages `dbt deps` installed under dbt_packages/. */
async function packages(root: string): Promise<Pick<ProjectFiles, "packages" | "installedPackages">> {
  const file = ["packages.yml", "dependencies.yml"].find((name) => existsSync(join(root, name)));
  const installed = existsSync(join(root, "dbt_packages"))
    ? (await readdir(join(root, "dbt_packages"), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name)
    : [];
  return {
    ...(file === undefined ? {} : { packages: { path: file, yaml: await readFile(join(root, file), "utf8") } }),
    installedPackages: installed.sort(),
  };
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

export async function readProjectFiles(root: string): Promise<ProjectFiles> {
  const project = await projectYaml(root);
  const selectors = existsSync(join(root, "selectors.yml")) ? await readFile(join(root, "selectors.yml"), "utf8") : undefined;
  const paths = projectPaths(project?.yaml);
  const named = (found: { path: string }[]) => found.map((f) => ({ path: f.path }));
  return {
    ...(project === undefined ? {} : { projectYaml: project.yaml, projectPath: project.path }),
    ...(await packages(root)),
    ...(selectors === undefined ? {} : { selectors: { path: "selectors.yml", yaml: selectors } }),
    macros: named(await filesUnder(root, paths.macros, [".sql"])),
    analyses: named(await filesUnder(root, paths.analyses, [".sql"])),
    models: (await filesUnder(root, paths.models, [".sql"])).map((f) => ({ path: f.path, sql: f.text })),
    properties: (await filesUnder(root, [...paths.models, ...paths.seeds], [".yml", ".yaml"])).map((f) => ({ path: f.path, yaml: f.text })),
    seeds: (await filesUnder(root, paths.seeds, [".csv"])).map((f) => ({ path: f.path, csv: f.text })),
    tests: (await filesUnder(root, paths.tests, [".sql"])).map((f) => ({ path: f.path, sql: f.text })),
    snapshots: (await filesUnder(root, paths.snapshots, [".sql"])).map((f) => ({ path: f.path, sql: f.text })),
    docs: (await filesUnder(root, [...paths.models, "docs"], [".md"])).map((f) => ({ path: f.path, markdown: f.text })),
    sources: await declaredSources(root),
  };
}

export async function compileProject(root: string): Promise<Manifest> {
  return compileManifest(await readProjectFiles(root));
}
