/**
 * An async interpreter of Python's Jinja2 (with `do`, loop controls and dbt's `return()` and
 * `{% test %}`), for rendering dbt SQL and macros in the Worker exactly as dbt renders them.
 * In: template source and a globals record (JS functions may return Promises, which are awaited
 * mid-render). Out: the rendered string, or a TemplateError "<name>:<line>: <what>".
 */
import type { Expr, Node } from "./ast.ts";
import { Scope } from "./evaluate.ts";
import { hasFilter } from "./filters.ts";
import { SyntaxErr } from "./lexer.ts";
import { parse } from "./parser.ts";
import { Macro, renderTemplate } from "./render.ts";
import { hasTest } from "./tests.ts";
import { locate, TemplateError } from "./values.ts";

export { pyfunc } from "./builtins.ts";
export { Macro } from "./render.ts";
export { fromJs, isUndefined, Kwargs, Markup, Namespace, PyFloat, repr, str, TemplateError, toJs, truthy, Undefined } from "./values.ts";

const CACHE_LIMIT = 5000;
const cache = new Map<string, Node[] | SyntaxErr>();

/** Jinja2 refuses unknown filters and tests when compiling, before any rendering. */
function checkNames(nodes: unknown): void {
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) for (const y of x) visit(y);
    else if (x && typeof x === "object" && !(x instanceof Scope)) {
      const e = x as Expr;
      if (e.k === "filter" && !hasFilter(e.name)) throw new SyntaxErr(`No filter named '${e.name}'.`, e.line);
      if (e.k === "test" && !hasTest(e.name)) throw new SyntaxErr(`No test named '${e.name}'.`, e.line);
      for (const key in x) if (e.k !== "const") visit((x as Record<string, unknown>)[key]);
    }
  };
  visit(nodes);
}

function parseCached(source: string): Node[] | SyntaxErr {
  let ast = cache.get(source);
  if (ast) return ast;
  try {
    ast = parse(source);
    checkNames(ast);
  } catch (err) {
    if (!(err instanceof SyntaxErr)) throw err;
    ast = err;
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(source, ast);
  return ast;
}

export class Template {
  readonly name: string;
  private readonly body: Node[];
  constructor(name: string, body: Node[]) {
    this.name = name;
    this.body = body;
  }

  /** Renders with `globals` (lookups use `key in globals`, so a Proxy works). */
  render(globals: Record<string, unknown>): Promise<string> {
    return renderTemplate(this.body, globals, this.name);
  }

  /**
   * The template's top-level {% macro %} and {% test %} definitions (a test `t` is `test_t`),
   * bound to `globals` for their free names at call time. As in Jinja2, macros of the same
   * template see each other before globals.
   */
  macros(globals: Record<string, unknown>): Map<string, Macro> {
    const scope = new Scope(null, globals);
    const out = new Map<string, Macro>();
    for (const n of this.body) {
      if (n.k !== "macro") continue;
      const m = new Macro(n.def, scope, this.name);
      scope.set(m.name, m);
      out.set(m.name, m);
    }
    return out;
  }
}

/** Parses (or reuses the parse of the same source) into a Template; syntax errors are TemplateErrors with their line. */
export function parseTemplate(source: string, name = "<template>"): Template {
  const ast = parseCached(source);
  if (ast instanceof SyntaxErr) throw locate(new TemplateError(ast.message), name, ast.line);
  return new Template(name, ast);
}
