/**
 * The interpreter's API as dbt's context uses it: async JS functions awaited mid-render, the
 * calling convention (trailing Kwargs, pyfunc), macros() bound to globals filled in later,
 * caller(), dbt's return() and {% test %}, JS objects as values, and errors located by line.
 */
import { describe, expect, it } from "vitest";
import {
  fromJs,
  isUndefined,
  Kwargs,
  Macro,
  parseTemplate,
  pyfunc,
  repr,
  str,
  TemplateError,
  toJs,
  truthy,
  Undefined,
} from "../../src/jinja/index.ts";

const render = (source: string, globals: Record<string, unknown> = {}, name = "models/x.sql") =>
  parseTemplate(source, name).render(globals);

async function renderError(source: string, globals: Record<string, unknown> = {}, name = "models/x.sql"): Promise<TemplateError> {
  try {
    await render(source, globals, name);
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateError);
    return err as TemplateError;
  }
  throw new Error("rendered without error");
}

describe("async JS functions", () => {
  it("awaits a Promise returned mid-render, in template order", async () => {
    const calls: string[] = [];
    const run_query = async (sql: string) => {
      calls.push(sql);
      await new Promise((r) => setTimeout(r, 1));
      return fromJs({ columns: ["n"], rows: [[sql.length]] });
    };
    const out = await render(
      "{% set r = run_query('select 1') %}{{ r.rows[0][0] }}|{% for i in [1, 2] %}{{ run_query('q' ~ i).rows[0][0] }}{% endfor %}|{{ run_query('x') is mapping }}",
      { run_query },
    );
    expect(out).toBe("8|22|True");
    expect(calls).toEqual(["select 1", "q1", "q2", "x"]);
  });

  it("awaits inside filters' arguments, conditions, loop iterables and macro defaults", async () => {
    const later = async (v: unknown) => v;
    const out = await render(
      "{% macro m(x=later(5)) %}{{ x }}{% endmacro %}{{ m() }}{% if later(true) %}Y{% endif %}{% for c in later(['a', 'b']) %}{{ c }}{% endfor %}{{ 'a-b' | replace('-', later('+')) }}",
      { later },
    );
    expect(out).toBe("5YabA+b".replace("A", "a"));
  });
});

describe("calling convention", () => {
  it("passes positional args, then a Kwargs only when keywords were given", async () => {
    const seen: unknown[][] = [];
    const f = (...args: unknown[]) => {
      seen.push(args);
      return "";
    };
    await render("{{ f(1, 'a') }}{{ f(1, x=2, y=none) }}{{ f() }}", { f });
    expect(seen).toEqual([[1, "a"], [1, new Kwargs({ x: 2, y: null })], []]);
  });

  it("pyfunc binds positional and keyword args as Python does", async () => {
    const got: Record<string, unknown>[] = [];
    const f = pyfunc(["a", "b?", "*rest", "**kw"], (args) => {
      got.push(args);
      return "ok";
    });
    expect(await render("{{ f(1) }}{{ f(1, 2, 3, z=4) }}{{ f(b=2, a=1) }}", { f })).toBe("okokok");
    expect(got).toEqual([
      { a: 1, rest: [], kw: {} },
      { a: 1, b: 2, rest: [3], kw: { z: 4 } },
      { a: 1, b: 2, rest: [], kw: {} },
    ]);
  });

  it("pyfunc refuses unknown keywords and missing arguments with a located TemplateError", async () => {
    const env_var = pyfunc(["var", "default?"], ({ var: v, default: d }) => d ?? `env:${v}`, "env_var");
    expect(await render("{{ env_var('A') }} {{ env_var('B', default='b') }}", { env_var })).toBe("env:A b");
    const unknown = await renderError("\n{{ env_var('A', fallback='x') }}", { env_var });
    expect(unknown.message).toBe("models/x.sql:2: env_var() got an unexpected keyword argument 'fallback'");
    expect((await renderError("{{ env_var() }}", { env_var })).message).toContain("missing required argument: 'var'");
  });

  it("reads attributes and calls methods of JS objects, bound to the object", async () => {
    class Relation {
      readonly schema = "main";
      readonly identifier = "orders";
      quoted(): string {
        return `"${this.schema}"."${this.identifier}"`;
      }
      __str__(): string {
        return this.quoted();
      }
      __repr__(): string {
        return `<Relation ${this.identifier}>`;
      }
    }
    const adapter = { quote: (s: string) => `"${s}"`, type: () => "sqlite" };
    const out = await render(
      "{{ this }} {{ this.identifier }} {{ this.quoted() }} {{ [this] }} {{ adapter.quote('c') }} {{ adapter.type() }} [{{ this.nope }}]",
      {
        this: new Relation(),
        adapter,
      },
    );
    expect(out).toBe('"main"."orders" orders "main"."orders" [<Relation orders>] "c" sqlite []');
  });

  it("uses __getattr__ and __getitem__ hooks when an object has them", async () => {
    const graph = {
      __getattr__: (name: string) => `attr:${name}`,
      __getitem__: (key: unknown) => `item:${str(key)}`,
    };
    Object.setPrototypeOf(graph, { constructor: class Graph {} });
    expect(await render("{{ g.nodes }} {{ g['model.x'] }} {{ g[1] }}", { g: graph })).toBe("attr:nodes item:model.x item:1");
  });

  it("reads a list-like class's own members and string keys, as a query result's rows and columns", async () => {
    class Row extends Array<unknown> {
      __getitem__(key: unknown): unknown {
        return key === "name" ? this[0] : undefined;
      }
    }
    class Result extends Array<Row> {
      column_names = ["name"];
      get rows(): Row[] {
        return [...this];
      }
    }
    const row = new Row();
    row.push("ada");
    const result = new Result();
    result.push(row);
    const template =
      "{{ r.rows | length }} {{ r.column_names[0] }} {{ r[0]['name'] }} {{ r[0][0] }} {% for x in r %}{{ x['name'] }}{% endfor %}";
    expect(await render(template, { r: result })).toBe("1 name ada ada ada");
    expect(await render("{{ r.append(1) }}{{ r | length }}", { r: new Result() })).toBe("None1");
  });

  it("looks globals up with `in`, so a Proxy can supply them lazily", async () => {
    const looked: string[] = [];
    const globals = new Proxy({} as Record<string, unknown>, {
      has: (_t, key) => typeof key === "string" && key.startsWith("v_"),
      get: (_t, key) => {
        looked.push(String(key));
        return `<${String(key)}>`;
      },
    });
    expect(await render("{{ v_a }}{{ other is defined }}{{ range(2) | list }}", globals)).toBe("<v_a>False[0, 1]");
    expect(looked).toEqual(["v_a"]);
  });
});

describe("macros()", () => {
  const source = [
    "{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{{ suffix() }}{% endmacro %}",
    "{% macro twice(x) %}{{ greet(x) }} {{ greet(x, punct='?') }}{% endmacro %}",
    "{% macro cols() %}{{ return(['a', 'b']) }}{% endmacro %}",
    "{% test not_null(model, column_name) %}select * from {{ model }} where {{ column_name }} is null{% endtest %}",
  ].join("\n");

  it("lists top-level macros and dbt tests (as test_<name>) with their params", () => {
    const macros = parseTemplate(source, "macros/m.sql").macros({});
    expect([...macros.keys()]).toEqual(["greet", "twice", "cols", "test_not_null"]);
    expect(macros.get("greet")!.params).toEqual(["name", "punct"]);
    expect(macros.get("greet")).toBeInstanceOf(Macro);
  });

  it("binds free names to globals looked up at call time, so globals can be filled in later", async () => {
    const globals: Record<string, unknown> = {};
    const macros = parseTemplate(source, "macros/m.sql").macros(globals);
    globals.suffix = () => ".";
    expect(await macros.get("twice")!.call(["Ana"])).toBe("Hello Ana!. Hello Ana?.");
    expect(await macros.get("greet")!.call(["Bo"], { punct: ";" })).toBe("Hello Bo;.");
    expect(await macros.get("test_not_null")!.call([], { model: "orders", column_name: "id" })).toBe(
      "select * from orders where id is null",
    );
  });

  it("returns the value of return() as is, of any type", async () => {
    const cols = parseTemplate(source, "macros/m.sql").macros({}).get("cols")!;
    expect(await cols.call([])).toEqual(["a", "b"]);
  });

  it("a macro from one template can be called from another through globals; errors name the macro's file", async () => {
    const globals: Record<string, unknown> = {};
    const lib = parseTemplate("{% macro boom() %}\n\n{{ 1 // 0 }}{% endmacro %}", "macros/lib.sql").macros(globals);
    Object.assign(globals, Object.fromEntries(lib));
    const err = await renderError("select\n{{ boom() }}", globals, "models/y.sql");
    expect(err.message).toBe("macros/lib.sql:3: integer division or modulo by zero");
    expect(err.templateName).toBe("macros/lib.sql");
    expect(err.line).toBe(3);
  });
});

describe("call blocks", () => {
  it("gives a JS function a caller keyword that renders the body (a Promise<string>)", async () => {
    const results: string[] = [];
    const statement = async (...args: unknown[]) => {
      const kw = args[args.length - 1] as Kwargs;
      const sql = await (kw.values.caller as () => Promise<string>)();
      results.push(`${String(args[0])}:${sql.trim()}`);
      return "";
    };
    await render("{% call statement('main', fetch_result=True) %}\n  select {{ 1 + 1 }}\n{% endcall %}", { statement });
    expect(results).toEqual(["main:select 2"]);
  });

  it("a JS function can pass the caller on to a macro", async () => {
    const globals: Record<string, unknown> = {};
    const wrap = parseTemplate("{% macro wrap() %}[{{ caller() }}]{% endmacro %}", "macros/w.sql").macros(globals).get("wrap");
    globals.via = (...args: unknown[]) => {
      const kw = args[args.length - 1] as Kwargs;
      return wrap!.call([], { caller: kw.values.caller });
    };
    expect(await render("{% call via() %}body{% endcall %}", globals)).toBe("[body]");
  });
});

describe("return()", () => {
  it("stops the macro; the call evaluates to the value", async () => {
    const out = await render(
      "{% macro pick(xs) %}{% for x in xs %}{% if x > 1 %}{{ return(x) }}{% endif %}{% endfor %}{{ return(none) }}after{% endmacro %}" +
        "{{ pick([1, 2, 3]) }} {{ pick([0]) }} {{ pick([5]) + 1 }}",
    );
    expect(out).toBe("2 None 6");
  });

  it("returns lists and dicts that print as Python does and stay usable", async () => {
    const out = await render(
      "{% macro cfg() %}{% do return({'a': [1, 'x']}) %}{% endmacro %}{% set c = cfg() %}{{ c }} {{ c.a | length }} {{ cfg().a[1] }}",
    );
    expect(out).toBe("{'a': [1, 'x']} 2 x");
  });

  it("a nested macro's return() ends only that macro", async () => {
    const out = await render(
      "{% macro inner() %}{{ return('in') }}{% endmacro %}{% macro outer() %}<{{ inner() }}>{% endmacro %}{{ outer() }}",
    );
    expect(out).toBe("<in>");
  });

  it("outside a macro is a TemplateError with the line", async () => {
    const err = await renderError("a\n{{ return(1) }}");
    expect(err.message).toBe("models/x.sql:2: return() is only allowed inside a macro");
  });
});

describe("errors", () => {
  it("syntax errors name the template and line", () => {
    expect(() => parseTemplate("ok\n{% for x in y %}\n{{ x }", "models/bad.sql")).toThrow(/^models\/bad\.sql:3: /);
    expect(() => parseTemplate("{% if x %}\n\n", "models/bad.sql")).toThrow(/^models\/bad\.sql:\d+: Unexpected end of template.*'endif'/);
  });

  it("dbt-only tags that Sluice does not run are refused, naming the tag and line", () => {
    for (const tag of ["materialization", "snapshot", "docs"]) {
      expect(() => parseTemplate(`\n{% ${tag} x %}{% end${tag} %}`, "macros/m.sql")).toThrow(
        `macros/m.sql:2: tag '${tag}' is not supported`,
      );
    }
  });

  it("an error thrown by a JS function is located and kept as the cause", async () => {
    const cause = new Error("Compilation Error: bad config");
    const raise_compiler_error = () => {
      throw cause;
    };
    const err = await renderError("select 1\n{% do raise_compiler_error() %}", { raise_compiler_error });
    expect(err.message).toBe("models/x.sql:2: Compilation Error: bad config");
    expect(err.cause).toBe(cause);
    expect(err.detail).toBe("Compilation Error: bad config");
  });

  it("attribute access on Undefined fails as Jinja2 does", async () => {
    expect((await renderError("{{ nope.x }}")).message).toBe("models/x.sql:1: 'nope' is undefined");
  });
});

describe("values", () => {
  it("str, repr and truthy follow Python", () => {
    expect(str(null)).toBe("None");
    expect(str(true)).toBe("True");
    expect(str(["a", 1, null])).toBe("['a', 1, None]");
    expect(repr("it's")).toBe('"it\'s"');
    expect(str(fromJs({ a: [1.5, "x"] }))).toBe("{'a': [1.5, 'x']}");
    expect(str(Undefined)).toBe("");
    expect(truthy([])).toBe(false);
    expect(truthy({})).toBe(false);
    expect(truthy(Undefined)).toBe(false);
    expect(truthy("0")).toBe(true);
    expect(isUndefined(undefined)).toBe(true);
  });

  it("toJs and fromJs convert dicts, tuples and floats", async () => {
    expect(await render("{{ {'a': (1, 2.0), 'b': none} | tojson }}")).toBe('{"a": [1, 2.0], "b": null}');
    const macros = parseTemplate("{% macro m() %}{{ return({'a': (1, 2.0), 'n': none}) }}{% endmacro %}").macros({});
    expect(toJs(await macros.get("m")!.call([]))).toEqual({ a: [1, 2], n: null });
    const back = fromJs({ rows: [{ id: 1 }] });
    expect(await render("{{ t.rows[0].id }} {{ t.rows[0] }}", { t: back })).toBe("1 {'id': 1}");
  });
});

describe("speed", () => {
  it("renders 1,000 macro-heavy models well under the 5 s budget", async () => {
    const globals: Record<string, unknown> = { ref: async (name: string) => `"main"."${name}"`, config: () => "" };
    const lib = parseTemplate(
      "{% macro star(cols, except=[]) %}{% for c in cols if c not in except %}\"{{ c }}\"{{ ',' if not loop.last }}{% endfor %}{% endmacro %}" +
        '{% macro surrogate_key(fields) %}{% set parts = [] %}{% for f in fields %}{% do parts.append("coalesce(cast(" ~ f ~ " as text), \'\')") %}{% endfor %}md5({{ parts | join(" || \'-\' || ") }}){% endmacro %}',
      "macros/lib.sql",
    ).macros(globals);
    Object.assign(globals, Object.fromEntries(lib));
    const cols = Array.from({ length: 30 }, (_, i) => `col_${i}`);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) {
      const src = `{{ config(materialized='table') }}\nselect {{ star(cols, except=['col_3']) }}, {{ surrogate_key(['a', 'b', 'c']) }} as sk\nfrom {{ ref('stg_${i % 50}') }}\n-- model ${i}`;
      const out = await parseTemplate(src, `models/m${i}.sql`).render({ ...globals, cols });
      expect(out).toContain(`"main"."stg_${i % 50}"`);
    }
    expect(performance.now() - started).toBeLessThan(2500);
  });
});
