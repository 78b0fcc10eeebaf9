/**
 * The manifest compile: dbt's parse step, run by `npm run build` rather than at run time. In: the
 * project's files (project file, models, properties YAML, seeds, singular tests, snapshots, docs)
 * and Sluice's streams. Out: the manifest the Worker bundles. Every mistake is a CompileError
 * naming the file (and, for refs and sources, the line) it came from.
 *
 * The phases, in order: read the inputs (inputs.ts), refusing what Sluice does not run and listing
 * what it parses but does not run (unsupported.ts); seeds (seed-nodes.ts); models, singular
 * tests and snapshots, each template rendered once with recording hooks to learn its config,
 * refs and sources (template-nodes.ts); the same for each installed package (package-nodes.ts);
 * generic tests from YAML (test-nodes.ts); refs resolved
 * and checked (refs.ts); unit tests, on the models they test (unit-tests.ts); the run order (order.ts).
 */
import { parse as parseYaml } from "yaml";
import type { Manifest } from "../manifest-schema.ts";
import { runHooks } from "../project-file.ts";
import { type CompileOptions, type ProjectFiles, readInputs } from "./inputs.ts";
import { nameRelations } from "./naming.ts";
import { CompileError, NodeSet } from "./nodes.ts";
import { runOrder } from "./order.ts";
import { addPackageNodes } from "./package-nodes.ts";
import { assertNoStreamTables, resolveRefs } from "./refs.ts";
import { addSeedNodes } from "./seed-nodes.ts";
import { readSelectors } from "./selectors.ts";
import { addTemplateNodes } from "./template-nodes.ts";
import { addGenericTestNodes } from "./test-nodes.ts";
import { addUnitTestNodes } from "./unit-tests.ts";

export type { CompileOptions, PackageFiles, ProjectFiles } from "./inputs.ts";
export { CompileError } from "./nodes.ts";

export async function compileManifest(files: ProjectFiles, options: CompileOptions = {}): Promise<Manifest> {
  try {
    return await compile(files, options);
  } catch (error) {
    if (error instanceof CompileError) throw error;
    throw new CompileError((error as Error).message);
  }
}

async function compile(files: ProjectFiles, options: CompileOptions): Promise<Manifest> {
  const inputs = await readInputs(files, options);
  const nodes = new NodeSet(inputs.project.name);
  addSeedNodes(nodes, files.seeds ?? [], inputs);
  await addTemplateNodes(nodes, files, inputs);
  await addPackageNodes(nodes, inputs, inputs.packages.installed);
  await addGenericTestNodes(nodes, inputs);
  resolveRefs(nodes, (node) => node.package === inputs.project.name);
  addUnitTestNodes(nodes, inputs);
  await nameRelations(nodes, inputs);
  assertNoStreamTables(nodes, inputs.sources, files.sources);
  const selectors = readSelectors(files.selectors, parseYaml);
  const { project, docs, sources, notRun, render } = inputs;
  return {
    version: 2,
    project: project.name,
    generatedAt: new Date().toISOString(),
    vars: project.vars,
    packageVars: render.project.packageVars,
    macros: [...render.project.macros],
    dispatch: [...render.project.dispatch],
    nodes: runOrder(nodes.nodes, inputs.sources),
    sources,
    docs,
    hooks: { onRunStart: runHooks(project["on-run-start"]), onRunEnd: runHooks(project["on-run-end"]) },
    ...(Object.keys(selectors).length > 0 ? { selectors } : {}),
    parsedNotRun: notRun.map(({ path, line, what }) => (line === undefined ? { path, what } : { path, line, what })),
  };
}
