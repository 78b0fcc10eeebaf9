/**
 * `npm run build`, the manifest compile: compiles the pipeline's dbt-style project (project file,
 * models, properties YAML, seeds, singular tests, docs) into .sluice/manifest.json, which the
 * Worker bundles. This is not a dbt build, which runs models on the Worker (`sluice build`).
 * Wrangler runs it before `dev` and `deploy` ([build] in wrangler.toml). The pipeline folder is
 * `pipeline/` unless SLUICE_PIPELINE_DIR names another.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pipelineCrons } from "../src/crons.ts";
import { compileManifest, type ProjectFiles } from "../src/models/compile/index.ts";
import { loadPipelineConfig, readProjectFiles, validateProject } from "./lib/project.ts";

/** What a run with vars compiles again: everything but the analyses, which never run. */
function bundledFiles(files: ProjectFiles): ProjectFiles {
  const { analyses: _, ...rest } = files;
  return { ...rest, installedPackages: (files.installedPackages ?? []).map(({ analyses: __, ...pkg }) => pkg) };
}

const root = resolve(import.meta.dirname, "..");
const pipelineDir = resolve(root, process.env.SLUICE_PIPELINE_DIR ?? "pipeline");
const outFile = resolve(root, process.env.SLUICE_MANIFEST_OUT ?? ".sluice/manifest.json");

/**
 * The Worker imports the pipeline's config through .sluice/pipeline-config.ts, so that
 * SLUICE_PIPELINE_DIR chooses it when the manifest is compiled; a folder that holds only a dbt project has none.
 */
async function writeConfigModule() {
  const module = join(root, ".sluice", "pipeline-config.ts");
  const config = join(pipelineDir, "sluice.config.ts");
  const body = existsSync(config)
    ? `export { default } from ${JSON.stringify(relative(dirname(module), config).split(sep).join("/"))};\n`
    : "export default {};\n";
  await mkdir(dirname(module), { recursive: true });
  await writeFile(module, `// Written by npm run build: the pipeline config the Worker bundles.\n${body}`);
}

/**
 * Writes the project's crons into wrangler.toml's `crons = [...]`, which is derived, not edited:
 * a model's new `schedule` reaches Cloudflare with the next compile.
 */
async function syncCrons(crons: string[]) {
  const path = join(root, "wrangler.toml");
  const toml = await readFile(path, "utf8");
  const line = `crons = [${crons.map((c) => JSON.stringify(c)).join(", ")}]`;
  const next = toml.replace(/^crons = \[.*\]$/m, line);
  if (next !== toml) {
    await writeFile(path, next);
    console.log(`sluice compile: wrangler.toml crons are now ${line.slice(8)}`);
  }
}

async function main() {
  const files = await readProjectFiles(pipelineDir);
  const manifest = await validateProject(pipelineDir, await compileManifest(files, { env: process.env }));
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(manifest, null, 2)}\n`);
  // The project's files, for runs with their own vars (src/models/manifest.ts).
  await writeFile(join(dirname(outFile), "project.json"), `${JSON.stringify(bundledFiles(files))}\n`);
  if (outFile === resolve(root, ".sluice/manifest.json")) {
    await writeConfigModule();
    const config = await loadPipelineConfig(pipelineDir);
    await syncCrons(pipelineCrons(config, manifest));
  }
  for (const { path, line, what } of manifest.parsedNotRun) {
    console.log(
      `sluice compile: parsed, not run: ${relative(root, join(pipelineDir, path))}${line === undefined ? "" : `:${line}`} ${what}`,
    );
  }
  const count = (type: string) => manifest.nodes.filter((n) => n.resourceType === type).length;
  console.log(
    `sluice compile: ${count("model")} models, ${count("seed")} seeds, ${count("test")} tests${count("unit_test") ? `, ${count("unit_test")} unit tests` : ""} from ${relative(root, pipelineDir) || "."} -> ${relative(root, outFile)}`,
  );
}

main().catch((error: unknown) => {
  console.error(`sluice compile failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
