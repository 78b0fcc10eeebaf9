/**
 * `npm run build`: compiles the pipeline's models into .sluice/manifest.json, which the Worker
 * bundles. Wrangler runs it before `dev` and `deploy` ([build] in wrangler.toml). The pipeline
 * folder is `pipeline/` unless SLUICE_PIPELINE_DIR names another.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../src/config/parse.ts";
import { BuildError, buildManifest } from "../src/models/build.ts";

const root = resolve(import.meta.dirname, "..");
const pipelineDir = resolve(root, process.env.SLUICE_PIPELINE_DIR ?? "pipeline");
const outFile = resolve(root, process.env.SLUICE_MANIFEST_OUT ?? ".sluice/manifest.json");

async function sqlFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".sql"))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

async function projectName(): Promise<string> {
  for (const file of ["sluice_project.yml", "dbt_project.yml"]) {
    const path = join(pipelineDir, file);
    if (existsSync(path)) {
      const project = parseYaml(await readFile(path, "utf8")) as { name?: unknown } | null;
      if (typeof project?.name === "string") return project.name;
    }
  }
  return "sluice";
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
  const files = await sqlFiles(join(pipelineDir, "models"));
  const models = await Promise.all(
    files.map(async (file) => ({ path: relative(pipelineDir, file), sql: await readFile(file, "utf8") })),
  );
  const manifest = buildManifest({ project: await projectName(), models, sources: await declaredSources() });
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, JSON.stringify(manifest, null, 2) + "\n");
  console.log(`sluice build: ${manifest.nodes.length} models from ${relative(root, pipelineDir) || "."} -> ${relative(root, outFile)}`);
}

main().catch((error: unknown) => {
  const message = error instanceof BuildError || error instanceof Error ? error.message : String(error);
  console.error(`sluice build failed: ${message}`);
  process.exit(1);
});
