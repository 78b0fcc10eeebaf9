/**
 * How `ref()` finds a node, shared by the compile and the Worker. Names are unique within a package
 * (the project or an installed one), not across them. `ref('pkg', 'name')` looks in that package
 * only; a bare `ref('name')` looks as dbt-core's `_packages_to_search` does: the root project
 * first, then the referring node's own package, then any package, if exactly one has the name.
 */
export class RefIndex<T> {
  private readonly byKey = new Map<string, T>();
  private readonly byName = new Map<string, Map<string, T>>();
  private readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  get(pkg: string, name: string): T | undefined {
    return this.byKey.get(`${pkg}.${name}`);
  }

  set(pkg: string, name: string, value: T): void {
    this.byKey.set(`${pkg}.${name}`, value);
    const named = this.byName.get(name) ?? new Map<string, T>();
    named.set(pkg, value);
    this.byName.set(name, named);
  }

  deletePackage(pkg: string): void {
    for (const [name, named] of this.byName) {
      named.delete(pkg);
      this.byKey.delete(`${pkg}.${name}`);
    }
  }

  /** The node `ref(name)` (or `ref(pkg, name)`) means in a node of package `from`; an Error when several packages could be meant. */
  find(name: string, pkg: string | undefined, from: string): T | undefined {
    if (pkg !== undefined) return this.get(pkg, name);
    const near = this.get(this.root, name) ?? this.get(from, name);
    if (near !== undefined) return near;
    const named = [...(this.byName.get(name) ?? new Map<string, T>())];
    if (named.length > 1)
      throw new Error(
        `ref('${name}') is ambiguous: packages ${named.map(([p]) => p).join(", ")} each have one; write ref('<package>', '${name}')`,
      );
    return named[0]?.[1];
  }
}

/** A ref as the compile records it: `name`, or `package.name` from ref('package', 'name'). */
export function splitRef(ref: string): { name: string; pkg?: string } {
  const dot = ref.indexOf(".");
  return dot < 0 ? { name: ref } : { pkg: ref.slice(0, dot), name: ref.slice(dot + 1) };
}
