/**
 * A unit test's `overrides:`, laid over the globals of the model's own template. In: the globals
 * and the overrides. Out: globals where each overridden macro returns its value (a name that is
 * no macro, such as `invocation_id`, becomes the value), `var()` and `env_var()` read the
 * overridden names first, and `pkg.macro` overrides reach through the package's namespace. As in
 * dbt, only the template itself sees them, not the macros it calls.
 */
import { Macro } from "../jinja/index.ts";
import type { UnitTestSpec } from "./manifest-schema.ts";

type Callable = (...args: unknown[]) => unknown;
type Namespace = { __getattr__: (name: string) => unknown; __str__: () => string };

export function withOverrides(globals: Record<string, unknown>, overrides: UnitTestSpec["overrides"]): Record<string, unknown> {
  const replaced: Record<string, unknown> = {};
  const byPackage = new Map<string, Record<string, unknown>>();
  for (const [name, value] of Object.entries(overrides.macros)) {
    const dot = name.indexOf(".");
    if (dot > 0) byPackage.set(name.slice(0, dot), { ...byPackage.get(name.slice(0, dot)), [name.slice(dot + 1)]: value });
    else replaced[name] = isCallable(globals[name]) ? () => value : value;
  }
  for (const [pkg, macros] of byPackage) replaced[pkg] = new OverriddenNamespace(pkg, globals[pkg] as Namespace | undefined, macros);
  const readFirst = (name: string, values: Record<string, unknown>) => {
    const original = globals[name] as Callable;
    if (Object.keys(values).length > 0)
      replaced[name] = (...args: unknown[]) => (Object.hasOwn(values, String(args[0])) ? values[String(args[0])] : original(...args));
  };
  readFirst("var", overrides.vars);
  readFirst("env_var", overrides.env_vars);
  return new Proxy(globals, {
    has: (target, name) => (typeof name === "string" && Object.hasOwn(replaced, name)) || Reflect.has(target, name),
    get: (target, name) => (typeof name === "string" && Object.hasOwn(replaced, name) ? replaced[name] : Reflect.get(target, name)),
  });
}

/** A package namespace (`dbt.…`) whose overridden macros return their values; the rest are the package's. */
class OverriddenNamespace {
  readonly #pkg: string;
  readonly #namespace: Namespace | undefined;
  readonly #macros: Record<string, unknown>;

  constructor(pkg: string, namespace: Namespace | undefined, macros: Record<string, unknown>) {
    this.#pkg = pkg;
    this.#namespace = namespace;
    this.#macros = macros;
  }

  __getattr__(name: string): unknown {
    return Object.hasOwn(this.#macros, name) ? () => this.#macros[name] : this.#namespace?.__getattr__(name);
  }

  __str__(): string {
    return this.#pkg;
  }
}

function isCallable(value: unknown): boolean {
  return typeof value === "function" || value instanceof Macro;
}
