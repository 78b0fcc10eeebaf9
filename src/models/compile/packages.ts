/**
 * Installed packages and macros. In: the project's macro files, packages.yml (or
 * dependencies.yml) and the packages `dbt deps` left in dbt_packages/. Out: every macro file by
 * package, each package's own vars, and the packages themselves (package-nodes.ts makes their
 * models, seeds and tests nodes). A declared package that is not installed fails the compile,
 * naming it and how to install it.
 */
import { parseDocument, parse as parseYaml } from "yaml";
import { parseTemplate, TemplateError } from "../../jinja/index.ts";
import type { MacroFile } from "../context/macros.ts";
import type { PackageFiles, ProjectFiles } from "./inputs.ts";
import { CompileError } from "./nodes.ts";

/** A test file holding `{% test %}` blocks: custom generic tests, read as macros. */
export const isGenericTestFile = (sql: string) => /\{%-?\s*test\s/.test(sql);

export interface InstalledPackages {
  macros: MacroFile[];
  packageVars: Record<string, Record<string, unknown>>;
  /** Each package's files, its project name and its dbt_project.yml as read. */
  installed: { pkg: PackageFiles; name: string; raw: Record<string, unknown> }[];
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** The package's project name (its dbt_project.yml `name`), else its folder. */
function packageProject(pkg: PackageFiles): { name: string; vars: Record<string, unknown>; raw: Record<string, unknown> } {
  let raw: unknown = {};
  try {
    raw = pkg.projectYaml === undefined ? {} : (parseYaml(pkg.projectYaml) ?? {});
  } catch (error) {
    throw new CompileError(`dbt_packages/${pkg.folder}/dbt_project.yml: invalid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  const project = isRecord(raw) ? raw : {};
  const name = typeof project.name === "string" ? project.name : pkg.folder;
  return { name, vars: isRecord(project.vars) ? project.vars : {}, raw: project };
}

/** Checks that each macro file parses, naming the file and line when it does not. */
function macroFiles(pkg: string, files: readonly { path: string; sql: string }[], prefix: string): MacroFile[] {
  return files.map(({ path, sql }) => {
    try {
      parseTemplate(sql, `${prefix}${path}`);
    } catch (error) {
      if (error instanceof TemplateError) throw new CompileError(error.message);
      throw error;
    }
    return { package: pkg, path: `${prefix}${path}`, sql };
  });
}

export function readPackages(files: ProjectFiles, root: string): InstalledPackages {
  const installed = (files.installedPackages ?? []).map((pkg) => ({ pkg, ...packageProject(pkg) }));
  checkDeclared(files, installed);
  const genericTests = (files.tests ?? []).filter((t) => isGenericTestFile(t.sql));
  const macros = macroFiles(root, [...(files.macros ?? []), ...genericTests], "");
  const packageVars: Record<string, Record<string, unknown>> = {};
  for (const { pkg, name, vars } of installed) {
    const prefix = `dbt_packages/${pkg.folder}/`;
    const packageTests = (pkg.tests ?? []).filter((t) => isGenericTestFile(t.sql));
    macros.push(...macroFiles(name, [...(pkg.macros ?? []), ...packageTests], prefix));
    packageVars[name] = vars;
  }
  return { macros, packageVars, installed };
}

/** The folder `dbt deps` installs a packages.yml entry into, as far as the entry tells. */
function expectedNames(entry: Record<string, unknown>): string[] {
  const spec = String(entry.package ?? entry.git ?? entry.local ?? entry.tarball ?? entry.name ?? "");
  const last =
    spec
      .replace(/\.git$/, "")
      .replace(/\/+$/, "")
      .split(/[/:]/)
      .pop() ?? spec;
  return [...new Set([String(entry.name ?? ""), last, last.replaceAll("-", "_"), last.replace(/^dbt[-_]/, "")].filter(Boolean))];
}

function checkDeclared(files: ProjectFiles, installed: { pkg: PackageFiles; name: string }[]): void {
  if (!files.packages) return;
  const { path, yaml } = files.packages;
  const document = parseDocument(yaml);
  if (document.errors.length > 0) throw new CompileError(`${path}: invalid YAML: ${document.errors[0]!.message.split("\n")[0]}`);
  const raw = document.toJS() as unknown;
  const entries = isRecord(raw) && Array.isArray(raw.packages) ? raw.packages : [];
  const present = new Set(installed.flatMap(({ pkg, name }) => [pkg.folder, name]));
  const missing = entries
    .filter(isRecord)
    .filter((entry) => !expectedNames(entry).some((name) => present.has(name)))
    .map((entry) => {
      const spec = String(entry.package ?? entry.git ?? entry.local ?? entry.tarball ?? entry.name);
      const line = yaml.split("\n").findIndex((text) => text.includes(spec)) + 1;
      return line > 0 ? `${spec} (line ${line})` : spec;
    });
  if (missing.length > 0) {
    throw new CompileError(
      `${path}: ${missing.length === 1 ? "a package is" : "packages are"} not installed in dbt_packages/: ${missing.join(", ")}; ` +
        "install them with `dbt deps` (or copy each package's folder into dbt_packages/), then compile again",
    );
  }
}
