/**
 * `npm run build`: compiles the pipeline's dbt-style project (project file, models, properties
 * YAML, seeds, singular tests, docs) into .sluice/manifest.json, which the Worker bundles. Wrangler runs it before `dev` and `deploy` ([build] in wrangler.toml). The pipeline
 * folder is `pipeline/` unless SLUICE_PIPELINE_DIR names another.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../src/config/parse.ts";
import { BuildError, buildManifest } from "../src/models/build.ts";

const root = resolve(import.meta.dirname, "..");
const pipelineDir = resolve(root, process.env.SLUICE_PIPELINE_DIR ?? "pipeline");
const outFile = resolve(root, process.env.SLUICE_MANIFEST_OUT ?? ".sluice/manifest.json");

async function filesUnder(folders: readonly string[], extension: string): Promise<{ path: string; text: string }[]> {
  const found: { path: string; text: string }[] = [];
  for (const folder of folders) {
    const dir = join(pipelineDir, folder);
    if (!existsSync(dir)) continue;
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith(extension)) continue;
      const file = join(entry.parentPath, entry.name);
      found.push({ path: relative(pipelineDir, file).split(sep).join("/"), text: await readFile(file, "utf8") });
    }
  }
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

async function projectYaml(): Promise<string | undefined> {
  for (const file of ["sluice_project.yml", "dbt_project.yml"]) {
    const path = join(pipelineDir, file);
    if (existsSync(path)) return readFile(path, "utf8");
  }
  return undefined;
}

async function declaredSources(): Promise<Record<string, string[]>> {
  const configPath = join(pipelineDir, "sluice.config.ts");
  if (!existsSync(configPath)) return {};
  const config = parseConfig((await import(configPath)).default);
  return {
    ...Object.fromEntries(Object.entries(config.sources).map(([name, source]) => [name, Object.keys(source.streams)])),
    ...Object.fromEntries(Object.entries(config.pulls).map(([name, source]) => [name, Object.keys(source.resources)])),
  };
}

async function main() {
  const yaml = await projectYaml();
  const paths = projectPaths(yaml);
  const models = await filesUnder(paths.models, ".sql");
  const manifest = buildManifest({
    ...(yaml === undefined ? {} : { projectYaml: yaml }),
    models: models.map((f) => ({ path: f.path, sql: f.text })),
    properties: [...(await filesUnder(paths.models, ".yml")), ...(await filesUnder(paths.models, ".yaml")), ...(await filesUnder(paths.seeds, ".yml"))].map((f) => ({ path: f.path, yaml: f.text })),
    seeds: (await filesUnder(paths.seeds, ".csv")).map((f) => ({ path: f.path, csv: f.text })),
    tests: (await filesUnder(paths.tests, ".sql")).map((f) => ({ path: f.path, sql: f.text })),
    docs: [...(await filesUnder(paths.models, ".md")), ...(await filesUnder(["docs"], ".md"))].map((f) => ({ path: f.path, markdown: f.text })),
    sources: await declaredSources(),
  });
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, JSON.stringify(manifest, null, 2) + "\n");
  const count = (type: string) => manifest.nodes.filter((n) => n.resourceType === type).length;
  console.log(
    `sluice build: ${count("model")} models, ${count("seed")} seeds, ${count("test")} tests from ${relative(root, pipelineDir) || "."} -> ${relative(root, outFile)}`,
  );
}

/** The folders the project file names (dbt's defaults otherwise). */
function projectPaths(yaml: string | undefined): { models: string[]; seeds: string[]; tests: string[] } {
  let project: Record<string, unknown> = {};
  try {
    project = (yaml ? parseYaml(yaml) : {}) ?? {};
  } catch {
    // buildManifest reports invalid YAML with its message.
  }
  const list = (key: string, fallback: string) => (Array.isArray(project[key]) ? (project[key] as string[]) : [fallback]);
  return { models: list("model-paths", "models"), seeds: list("seed-paths", "seeds"), tests: list("test-paths", "tests") };
}

main().catch((error: unknown) => {
  const message = error instanceof BuildError || error instanceof Error ? error.message : String(error);
  console.error(`sluice build failed: ${message}`);
  process.exit(1);
});
