/**
 * The macros of a project, its installed packages and Sluice's own packages, and how a name
 * finds one: dbt's lookup (the calling package's own macros, then the root project's, then
 * dbt's) and `adapter.dispatch` (per package in the search order, `sqlite__` before `default__`).
 * In: macro files by package. Out: macros bound to the globals of the package that defines them,
 * made once per render, on first use.
 */
import { type Macro, parseTemplate, type Template } from "../../jinja/index.ts";

export interface MacroFile {
  package: string;
  path: string;
  sql: string;
}

/** A project's `dispatch:` entry: where `adapter.dispatch(name, macro_namespace)` looks. */
export interface DispatchConfig {
  macro_namespace: string;
  search_order: string[];
}

/** Sluice's adapter type: dispatch tries `sqlite__<name>`, then `default__<name>`. */
export const adapterType = "sqlite";
const prefixes = [adapterType, "default"];
/** dbt's own macros (Sluice's versions of them). */
export const internalPackage = "dbt";
/** Sluice's `sqlite__` versions of macros whose `default__` is not valid on SQLite, searched before the package itself. */
export const shimPackage = "sluice_sqlite";

export class MacroLibrary {
  readonly root: string;
  readonly packages: readonly string[];
  readonly #definitions = new Map<string, Map<string, Template>>();
  readonly #dispatch: readonly DispatchConfig[];

  constructor(files: readonly MacroFile[], options: { root: string; dispatch?: readonly DispatchConfig[] }) {
    this.root = options.root;
    this.#dispatch = options.dispatch ?? [];
    for (const file of files) {
      const template = parseTemplate(file.sql, file.path);
      const defined = this.#definitions.get(file.package) ?? new Map<string, Template>();
      for (const name of template.macros({}).keys()) defined.set(name, template);
      this.#definitions.set(file.package, defined);
    }
    if (!this.#definitions.has(this.root)) this.#definitions.set(this.root, new Map());
    this.packages = [...this.#definitions.keys()];
  }

  has(pkg: string, name: string): boolean {
    return this.#definitions.get(pkg)?.has(name) ?? false;
  }

  template(pkg: string, name: string): Template | undefined {
    return this.#definitions.get(pkg)?.get(name);
  }

  /** The packages whose macros a name in `pkg` resolves to, in order. */
  lookupOrder(pkg: string): string[] {
    return [...new Set([pkg, this.root, internalPackage])];
  }

  /** Where `adapter.dispatch(name, namespace)` looks, with Sluice's shim right before the namespace's own package. */
  searchOrder(namespace: string | undefined): string[] {
    if (namespace === undefined) return [this.root, internalPackage];
    const configured = this.#dispatch.find((d) => d.macro_namespace === namespace)?.search_order ?? [this.root, namespace];
    const order = [...configured];
    const at = order.indexOf(namespace);
    if (namespace !== internalPackage && this.#definitions.has(shimPackage) && !order.includes(shimPackage))
      order.splice(at < 0 ? order.length : at, 0, shimPackage);
    return [...new Set(order)];
  }

  /** The `(package, name)` that dispatch picks, or the names it searched. */
  dispatchTarget(name: string, namespace: string | undefined): { pkg: string; name: string } | { searched: string[] } {
    const searched: string[] = [];
    for (const pkg of this.searchOrder(namespace)) {
      for (const prefix of prefixes) {
        const candidate = `${prefix}__${name}`;
        if (this.has(pkg, candidate)) return { pkg, name: candidate };
        searched.push(`${pkg}.${candidate}`);
      }
    }
    return { searched };
  }
}

/**
 * The macros of one render: each template's macros bound to its package's globals on first use,
 * so rendering one model does not bind every macro of every package.
 */
export class BoundMacros {
  readonly #library: MacroLibrary;
  readonly #globalsFor: (pkg: string) => Record<string, unknown>;
  readonly #bound = new Map<Template, Map<string, Macro>>();

  constructor(library: MacroLibrary, globalsFor: (pkg: string) => Record<string, unknown>) {
    this.#library = library;
    this.#globalsFor = globalsFor;
  }

  get(pkg: string, name: string): Macro | undefined {
    const template = this.#library.template(pkg, name);
    if (!template) return undefined;
    let macros = this.#bound.get(template);
    if (!macros) {
      macros = template.macros(this.#globalsFor(pkg));
      this.#bound.set(template, macros);
    }
    return macros.get(name);
  }

  /** A free name in a template of `pkg`: its own macros, then the root project's, then dbt's. */
  resolve(pkg: string, name: string): Macro | undefined {
    for (const candidate of this.#library.lookupOrder(pkg)) {
      const macro = this.get(candidate, name);
      if (macro) return macro;
    }
    return undefined;
  }
}
