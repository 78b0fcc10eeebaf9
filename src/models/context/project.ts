/**
 * One project's rendering setup, shared by the compile and the Worker: its macro library
 * (Sluice's own packages, the installed packages, the project's macros), dispatch config, and
 * vars by package in dbt's precedence: the run's vars, then the root project's vars scoped to
 * the package, then its global vars, then the package's own.
 */
import { builtinMacros } from "./builtin/index.ts";
import { type DispatchConfig, type MacroFile, MacroLibrary } from "./macros.ts";

export interface RenderProject {
  project: string;
  macros: readonly MacroFile[];
  dispatch: readonly DispatchConfig[];
  /** The root project's vars (global keys, and package names holding scoped vars). */
  vars: Record<string, unknown>;
  /** Each installed package's own project vars. */
  packageVars: Record<string, Record<string, unknown>>;
}

const libraries = new WeakMap<object, MacroLibrary>();

export function macroLibrary(project: RenderProject): MacroLibrary {
  let library = libraries.get(project);
  if (!library) {
    library = new MacroLibrary([...builtinMacros, ...project.macros], { root: project.project, dispatch: project.dispatch });
    libraries.set(project, library);
  }
  return library;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** A project file's `vars:`, split into global vars and vars scoped to a package (`vars: {pkg: {…}}`). */
function scoped(vars: Record<string, unknown>, pkg: string, packages: readonly string[]): Record<string, unknown> {
  const global = Object.fromEntries(Object.entries(vars).filter(([key, value]) => !(packages.includes(key) && isRecord(value))));
  const own = isRecord(vars[pkg]) ? vars[pkg] : {};
  return { ...global, ...own };
}

export function varsFor(project: RenderProject, runVars: Record<string, unknown> = {}): (pkg: string) => Record<string, unknown> {
  const packages = [project.project, ...Object.keys(project.packageVars)];
  const cache = new Map<string, Record<string, unknown>>();
  return (pkg) => {
    let vars = cache.get(pkg);
    if (!vars) {
      const packageOwn = pkg === project.project ? {} : scoped(project.packageVars[pkg] ?? {}, pkg, packages);
      vars = { ...packageOwn, ...scoped(project.vars, pkg, packages), ...runVars };
      cache.set(pkg, vars);
    }
    return vars;
  };
}
