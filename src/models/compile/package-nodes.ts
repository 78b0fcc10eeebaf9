/**
 * The models, seeds, snapshots and tests of installed packages, as dbt makes them: nodes of the
 * package (`model.<package>.<name>`, path `dbt_packages/<folder>/…`), configured by the package's
 * own dbt_project.yml, then the root project's `models: <package>: …` tree, then the package's
 * properties YAML and inline `config()`, and rendered with the package's macros and vars. In: the
 * compile's inputs and the node set. Out: the packages' nodes, added to the set; a package that
 * does not compile (Elementary's models need materializations and SQL Sluice does not have) is
 * dropped whole and listed as parsed, not run, with the reason, rather than failing the build.
 * Packages' `on-run-start` and `on-run-end` hooks are listed, not run.
 */
import { TemplateError } from "../../jinja/index.ts";
import { ConfigError, type ProjectFile, projectFileSchema } from "../project-file.ts";
import type { CompileInputs } from "./inputs.ts";
import { propertiesByNode, readProperties, readSources } from "./inputs.ts";
import { CompileError, type NodeSet } from "./nodes.ts";
import type { InstalledPackages } from "./packages.ts";
import { renderProjectConfigs } from "./project-render.ts";
import { resolveRefs } from "./refs.ts";
import { addSeedNodes } from "./seed-nodes.ts";
import { addTemplateNodes } from "./template-nodes.ts";
import { addGenericTestNodes } from "./test-nodes.ts";
import type { NotRun } from "./unsupported.ts";

type Installed = InstalledPackages["installed"][number];

/** Adds every installed package's nodes, then resolves their refs, dropping (and listing) each package that fails. */
export async function addPackageNodes(nodes: NodeSet, inputs: CompileInputs, installed: readonly Installed[]): Promise<void> {
  const compiled: Installed[] = [];
  for (const entry of installed) {
    const { pkg, name, raw } = entry;
    const hooks = ["on-run-start", "on-run-end"].filter((hook) => raw[hook] !== undefined);
    if (hooks.length > 0)
      inputs.notRun.push({
        path: `${prefixOf(entry)}dbt_project.yml`,
        what: `package ${name}: ${hooks.join(" and ")} hooks, which Sluice does not run`,
      });
    if (unrun(entry).length === 0 && (pkg.tests ?? []).length === 0 && (pkg.properties ?? []).length === 0) continue;
    const notRun: NotRun[] = [];
    try {
      const own = await packageInputs(inputs, entry, notRun);
      await addOwnNodes(nodes, { ...inputs, ...own }, entry);
      inputs.notRun.push(...notRun);
      inputs.sources.push(...(own.sources ?? []).filter((s) => !inputs.sources.includes(s)));
      compiled.push(entry);
    } catch (error) {
      dropPackage(nodes, inputs, entry, error);
    }
  }
  for (const entry of compiled) {
    try {
      resolveRefs(nodes, (node) => node.package === entry.name);
    } catch (error) {
      dropPackage(nodes, inputs, entry, error);
    }
  }
}

const prefixOf = ({ pkg }: Installed) => `dbt_packages/${pkg.folder}/`;

/** What the package would build, for the notice when it cannot. */
function unrun({ pkg }: Installed): string[] {
  return [
    ...pkg.models.map((m) => `model ${m.path}`),
    ...(pkg.seeds ?? []).map((s) => `seed ${s.path}`),
    ...(pkg.snapshots ?? []).map((s) => `snapshot ${s.path}`),
  ];
}

function dropPackage(nodes: NodeSet, inputs: CompileInputs, entry: Installed, error: unknown): void {
  if (!(error instanceof CompileError || error instanceof TemplateError || error instanceof ConfigError)) throw error;
  nodes.removePackage(entry.name);
  const items = unrun(entry);
  const listed = `${items.slice(0, 3).join(", ")}${items.length > 3 ? ", …" : ""}`;
  inputs.notRun.push({
    path: `${prefixOf(entry)}dbt_project.yml`,
    what:
      `package ${entry.name}: ${items.length} ${items.length === 1 ? "item" : "items"} that Sluice does not run (${listed}), ` +
      `because ${error.message}; its macros and tests are available`,
  });
}

/** The package's own project file (rendered with its context) and properties, with its notices kept apart until it compiles. */
async function packageInputs(inputs: CompileInputs, entry: Installed, notRun: NotRun[]): Promise<Partial<CompileInputs>> {
  const prefix = prefixOf(entry);
  const parsed = projectFileSchema.safeParse({ ...entry.raw, name: entry.name });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CompileError(`${prefix}dbt_project.yml: ${issue.path.join(".")}: ${issue.message}`);
  }
  const project: ProjectFile = parsed.data;
  await renderProjectConfigs(project, inputs.render, `${prefix}dbt_project.yml`);
  const properties = (entry.pkg.properties ?? []).map(({ path, yaml }) => ({
    path: `${prefix}${path}`,
    yaml,
    file: readProperties(`${prefix}${path}`, yaml, notRun),
  }));
  for (const { path, file } of properties)
    if ((file.unit_tests ?? []).length > 0)
      notRun.push({ path, what: `package ${entry.name}: unit tests (Sluice runs the project's own)` });
  // The package's own sources join the project's (dbt names them source.<package>.…).
  const own = readSources(entry.name, {}, properties).filter(
    (s) => !inputs.sources.some((t) => t.source === s.source && t.table === s.table),
  );
  return {
    project,
    properties,
    nodeProperties: propertiesByNode(properties),
    notRun,
    sources: [...inputs.sources, ...own],
    pkg: { prefix, root: inputs.project },
  };
}

async function addOwnNodes(nodes: NodeSet, inputs: CompileInputs, { pkg }: Installed): Promise<void> {
  const prefix = inputs.pkg!.prefix;
  const under = <T extends { path: string }>(files: readonly T[] | undefined): T[] =>
    (files ?? []).map((f) => ({ ...f, path: `${prefix}${f.path}` }));
  addSeedNodes(nodes, under(pkg.seeds), inputs);
  await addTemplateNodes(nodes, { models: under(pkg.models), tests: under(pkg.tests), snapshots: under(pkg.snapshots) }, inputs);
  await addGenericTestNodes(nodes, inputs);
}
