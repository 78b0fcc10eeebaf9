/**
 * The compile's first phase. In: the project's files as text. Out: the parsed project file,
 * properties YAML (also indexed by the model or seed it describes), docs blocks, and the source
 * tables: Sluice's streams, described further by the `sources:` of properties YAML. What the
 * project declares that Sluice does not run is refused or listed on the way in (unsupported.ts).
 */
import { parse as parseYaml } from "yaml";
import type { MacroLibrary } from "../context/macros.ts";
import { macroLibrary, type RenderProject, varsFor } from "../context/project.ts";
import { relationName, targetSchema } from "../context/relation.ts";
import type { SourceTable } from "../manifest-schema.ts";
import { type ProjectFile, projectFileSchema } from "../project-file.ts";
import { type NodeProperties, type PropertiesFile, propertiesFileSchema } from "../properties.ts";
import { CompileError } from "./nodes.ts";
import { type InstalledPackages, readPackages } from "./packages.ts";
import { renderProjectConfigs } from "./project-render.ts";
import { applySourceSlas } from "./slas.ts";
import { checkUnitTests } from "./unit-tests.ts";
import { checkProjectFile, checkProjectFolders, checkPropertiesFile, type NotRun } from "./unsupported.ts";

export interface ProjectFiles {
  /** The project file's YAML; absent means a project with dbt's defaults, named by `project`. */
  projectYaml?: string;
  /** The project file's path, for messages (default `dbt_project.yml`). */
  projectPath?: string;
  /** The project name when there is no project file (default `sluice`). */
  project?: string;
  /** Paths relative to the project folder, e.g. `models/staging/stg_orders.sql`. */
  models: readonly { path: string; sql: string }[];
  properties?: readonly { path: string; yaml: string }[];
  seeds?: readonly { path: string; csv: string }[];
  tests?: readonly { path: string; sql: string }[];
  /** Files holding `{% snapshot name %} … {% endsnapshot %}` blocks. */
  snapshots?: readonly { path: string; sql: string }[];
  docs?: readonly { path: string; markdown: string }[];
  /** Files under `macro-paths`: macros, and `{% test %}` blocks (custom generic tests). */
  macros?: readonly { path: string; sql: string }[];
  /** Files under `analysis-paths`: parsed, not run. */
  analyses?: readonly { path: string }[];
  /** `packages.yml` or `dependencies.yml`, if the project has one. */
  packages?: { path: string; yaml: string };
  /** The packages `dbt deps` installed under `dbt_packages/`, each read as a project of its own. */
  installedPackages?: readonly PackageFiles[];
  /** `selectors.yml`, if the project has one. */
  selectors?: { path: string; yaml: string };
  /** Sluice's own sources (webhooks and pulls): source name to its streams. */
  sources: Readonly<Record<string, readonly string[]>>;
}

/** An installed package: its folder under dbt_packages/ and its own project's files. */
export interface PackageFiles extends Omit<ProjectFiles, "sources" | "installedPackages" | "packages"> {
  folder: string;
}

/** How the compile renders templates: the macro library and vars by package. */
export interface RenderSetup {
  project: RenderProject;
  library: MacroLibrary;
  vars: (pkg: string) => Record<string, unknown>;
  env: Record<string, string | undefined>;
}

export interface CompileOptions {
  /** The run's vars (`--vars`), over the project's. */
  vars?: Record<string, unknown>;
  /** What `env_var()` reads. */
  env?: Record<string, string | undefined>;
}

export interface CompileInputs {
  project: ProjectFile;
  render: RenderSetup;
  properties: { path: string; yaml: string; file: PropertiesFile }[];
  /** Each model's, seed's and snapshot's properties, under `models:<name>`, `seeds:<name>` or `snapshots:<name>`. */
  nodeProperties: Map<string, NodeProperties>;
  docs: Record<string, string>;
  sources: SourceTable[];
  /** What was parsed but is not run (exposures, metrics, analyses, documentation-only keys). */
  notRun: NotRun[];
  /**
   * For an installed package's nodes: where its files are (`dbt_packages/<folder>/`), and the root
   * project's file, whose config trees apply over the package's own (`models: <package>: …`).
   */
  pkg?: { prefix: string; root: ProjectFile };
}

export async function readInputs(
  files: ProjectFiles,
  options: CompileOptions = {},
): Promise<CompileInputs & { packages: InstalledPackages }> {
  const notRun: NotRun[] = checkProjectFolders(files);
  const project = readProject(files, notRun);
  const packages = readPackages(files, project.name);
  const renderProject: RenderProject = {
    project: project.name,
    macros: packages.macros,
    dispatch: project.dispatch,
    vars: project.vars,
    packageVars: packages.packageVars,
  };
  const render: RenderSetup = {
    project: renderProject,
    library: macroLibrary(renderProject),
    vars: varsFor(renderProject, options.vars),
    env: options.env ?? {},
  };
  await renderProjectConfigs(project, render, files.projectPath ?? "dbt_project.yml");
  const properties = (files.properties ?? []).map(({ path, yaml }) => ({ path, yaml, file: readProperties(path, yaml, notRun) }));
  const docs = readDocs(files.docs ?? []);
  const sources = readSources(project.name, files.sources, properties);
  applySourceSlas(project, files.projectPath ?? "dbt_project.yml", properties, sources);
  return { project, render, properties, nodeProperties: propertiesByNode(properties), docs, sources, notRun, packages };
}

/** Each model's, seed's and snapshot's properties, under `models:<name>`, `seeds:<name>` or `snapshots:<name>`. */
export function propertiesByNode(properties: readonly { file: PropertiesFile }[]): Map<string, NodeProperties> {
  const nodeProperties = new Map<string, NodeProperties>();
  for (const { file } of properties) {
    for (const kind of ["models", "seeds", "snapshots"] as const)
      for (const props of file[kind] ?? []) nodeProperties.set(`${kind}:${props.name}`, props);
  }
  return nodeProperties;
}

function readProject(files: ProjectFiles, notRun: NotRun[]): ProjectFile {
  let raw: unknown = { name: files.project ?? "sluice" };
  if (files.projectYaml !== undefined) {
    try {
      raw = parseYaml(files.projectYaml) ?? {};
    } catch (error) {
      throw new CompileError(`project file: invalid YAML: ${(error as Error).message}`);
    }
    notRun.push(...checkProjectFile(files.projectPath ?? "dbt_project.yml", files.projectYaml, raw));
  }
  const parsed = projectFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CompileError(`project file: ${issue.path.join(".") || "name"}: ${issue.message}`);
  }
  return parsed.data;
}

export function readProperties(path: string, yaml: string, notRun: NotRun[]): PropertiesFile {
  let raw: unknown;
  try {
    raw = parseYaml(yaml) ?? {};
  } catch (error) {
    throw new CompileError(`${path}: invalid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  notRun.push(...checkPropertiesFile(path, yaml, raw));
  checkUnitTests(path, yaml, raw);
  const parsed = propertiesFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CompileError(`${path}: ${issue.path.join(".")}: ${issue.message}`);
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
export function readSources(
  project: string,
  declared: Readonly<Record<string, readonly string[]>>,
  properties: { path: string; yaml: string; file: PropertiesFile }[],
): SourceTable[] {
  const tables = new Map<string, SourceTable>();
  for (const [source, streams] of Object.entries(declared)) {
    for (const table of streams) {
      tables.set(`${source}.${table}`, {
        uniqueId: `source.${project}.${source}.${table}`,
        source,
        table,
        schema: targetSchema,
        identifier: `raw_${source}__${table}`,
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
        // A stream keeps its table; any other source is named by dbt's rule from its schema (by
        // default the source's name) and identifier (by default the table's name).
        const schema = known ? targetSchema : (source.schema ?? source.name);
        const identifier = table.identifier ?? known?.identifier ?? table.name;
        tables.set(key, {
          uniqueId: `source.${project}.${source.name}.${table.name}`,
          source: source.name,
          table: table.name,
          schema,
          identifier,
          relation: relationName(schema, identifier),
          description: table.description ?? source.description ?? "",
          loadedAtField:
            table.config?.loaded_at_field ??
            table.loaded_at_field ??
            source.config?.loaded_at_field ??
            source.loaded_at_field ??
            "_sluice_received_at",
          ...((table.config?.event_time ?? source.config?.event_time)
            ? { eventTime: (table.config?.event_time ?? source.config?.event_time)! }
            : known?.eventTime
              ? { eventTime: known.eventTime }
              : {}),
          freshness:
            [table.config?.freshness, table.freshness, source.config?.freshness, source.freshness].find((f) => f !== undefined) ?? null,
        });
      }
    }
  }
  return [...tables.values()];
}
