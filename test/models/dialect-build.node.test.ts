/**
 * `npm run build` prepares every compiled model against SQLite with the columns of its sources
 * and parents: a syntax error, an unknown function, an unknown column where columns are known, a
 * construct with no SQLite translation, or one of D1's limits fails the build with file and line.
 * Each case is the base project below plus one model.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot } from "../../scripts/lib/dev-server.ts";
import { compileProject } from "../../scripts/lib/project.ts";

const made: string[] = [];
afterEach(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** orders declares every column; customers declares some (a loose schema); events declares none. */
const config = `import { z } from ${JSON.stringify(import.meta.resolve("zod"))};
import { defineConfig } from ${JSON.stringify(join(repoRoot, "src/config/schema.ts"))};
export default defineConfig({
  sources: {
    shop: {
      provider: "generic",
      secrets: ["SHOP_SECRET"],
      signature: { header: "X-Signature", prefix: "sha256=", algorithm: "sha256", encoding: "hex" },
      defaultStream: "events",
      streams: {
        orders: { schema: z.object({ id: z.string(), amount: z.number(), created_at: z.string() }) },
        customers: { schema: z.looseObject({ id: z.string() }) },
        events: {},
      },
    },
  },
});
`;

const base: Record<string, string> = {
  "sluice.config.ts": config,
  "dbt_project.yml": "name: shop\nversion: '1.0'\nconfig-version: 2\n",
  "models/sources.yml": "version: 2\nsources:\n  - name: shop\n    tables: [{ name: orders }, { name: customers }, { name: events }]\n",
  "seeds/countries.csv": "code,name\nFR,France\n",
  "models/stg_orders.sql":
    "select id as order_id,\n  amount::numeric(16, 2) as amount,\n  created_at::date as order_date\nfrom {{ source('shop', 'orders') }}\n",
};

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-dialect-"));
  made.push(dir);
  for (const [path, text] of Object.entries({ ...base, ...files })) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const wide = `select ${Array.from({ length: 101 }, (_, i) => `${i} as c${i}`).join(", ")}`;
const manyArgs = Array.from({ length: 33 }, (_, i) => i).join(", ");

const failing: [name: string, files: Record<string, string>, message: string][] = [
  [
    "a syntax error",
    { "models/bad.sql": "select order_id\nfrom {{ ref('stg_orders') }}\nwhere amount > > 1\n" },
    'models/bad.sql:3: near ">": syntax error',
  ],
  [
    "a syntax error that Jinja's output stands next to",
    { "models/bad.sql": "select order_id\nfrm {{ ref('stg_orders') }}\n" },
    'models/bad.sql:2: near "main": syntax error',
  ],
  [
    "an unfinished statement",
    { "models/bad.sql": "select order_id\nfrom {{ ref('stg_orders') }}\nwhere\n" },
    "models/bad.sql:3: incomplete input",
  ],
  [
    "an unknown function",
    { "models/hashed.sql": "select order_id,\n  md5(order_id) as hash\nfrom {{ ref('stg_orders') }}\n" },
    "models/hashed.sql:2: no such function: md5",
  ],
  [
    "a function Node's SQLite has and D1 refuses",
    { "models/pretty.sql": "select order_id,\n  json_pretty(json_object('a', amount)) as pretty\nfrom {{ ref('stg_orders') }}\n" },
    "models/pretty.sql:2: D1 has no function json_pretty(); use json(x)",
  ],
  [
    "a table function D1 lacks",
    { "models/days.sql": "select value as day\nfrom generate_series(1, 31)\n" },
    "models/days.sql:2: 'generate_series' is not a function",
  ],
  [
    "an unknown column of a declared stream",
    { "models/wrong.sql": "select id,\n  created_at,\n  amout\nfrom {{ source('shop', 'orders') }}\n" },
    "models/wrong.sql:3: no such column: amout",
  ],
  [
    "an unknown column of an upstream model",
    { "models/daily.sql": "select order_date,\n  sum(total_amount) as revenue\nfrom {{ ref('stg_orders') }}\ngroup by 1\n" },
    "models/daily.sql:2: no such column: total_amount",
  ],
  [
    "an unknown column of a seed",
    { "models/names.sql": "select code, country_name\nfrom {{ ref('countries') }}\n" },
    "models/names.sql:1: no such column: country_name",
  ],
  [
    "an unknown column in the is_incremental() branch",
    {
      "models/inc.sql":
        "{{ config(materialized='incremental', unique_key='order_id') }}\nselect order_id, amount\nfrom {{ ref('stg_orders') }}\n" +
        "{% if is_incremental() %}\nwhere order_id > (select max(order_idd) from {{ this }})\n{% endif %}\n",
    },
    "models/inc.sql:5: no such column: order_idd (is_incremental())",
  ],
  [
    "a syntax error in a model over an inferred stream",
    { "models/events.sql": "select anything,\n  other\nfrom {{ source('shop', 'events') }}\norder by\n" },
    "models/events.sql:4: incomplete input",
  ],
  [
    "an unknown function in a model over an inferred stream",
    { "models/events.sql": "select anything,\n  array_agg(other) as others\nfrom {{ source('shop', 'events') }}\ngroup by 1\n" },
    "models/events.sql:2: no such function: array_agg",
  ],
  [
    "a construct with no SQLite translation",
    { "models/latest.sql": "select *\nfrom {{ ref('stg_orders') }}\nqualify row_number() over (partition by order_id) = 1\n" },
    "models/latest.sql:3: qualify has no SQLite translation; filter on the window function in an outer query: " +
      "select * from (select …, row_number() over (…) as rn …) where rn = 1",
  ],
  ["more than 100 columns", { "models/wide.sql": wide }, "models/wide.sql:1: wide has 101 columns; a D1 table holds at most 100"],
  [
    "a function called with more than 32 arguments",
    { "models/args.sql": `select order_id,\n  coalesce(${manyArgs}) as c\nfrom {{ ref('stg_orders') }}\n` },
    "models/args.sql:2: coalesce() is called with 33 arguments; D1 allows at most 32",
  ],
];

describe("build-time validation against SQLite", () => {
  it("compiles a project whose models prepare, translating their casts", async () => {
    const manifest = await compileProject(await project({}));
    expect(manifest.nodes.map((n) => n.name).sort()).toEqual(["countries", "stg_orders"]);
  });

  it.each(failing)("fails on %s, naming file and line", async (_name, files, message) => {
    await expect(compileProject(await project(files))).rejects.toMatchObject({ name: "CompileError", message });
  });

  it("checks only syntax and functions where columns are not known: an inferred stream, a loose schema's extra fields, and models over them", async () => {
    const dir = await project({
      "models/events.sql": "select anything, other::int as n\nfrom {{ source('shop', 'events') }}\n",
      "models/event_counts.sql": "select anything, sum(n) as total, max(never_selected) as m\nfrom {{ ref('events') }}\ngroup by 1\n",
      "models/customers.sql": "select id, email, address__city\nfrom {{ source('shop', 'customers') }}\n",
    });
    const manifest = await compileProject(dir);
    expect(manifest.nodes.map((n) => n.name).sort()).toEqual(["countries", "customers", "event_counts", "events", "stg_orders"]);
  });

  it("passes a test or model that renders nothing until it runs (dbt's `if not execute` return), and what reads it", async () => {
    const dir = await project({
      "macros/later.sql": "{% macro later(sql) %}{% if not execute %}{{ return('') }}{% endif %}{{ sql }}{% endmacro %}\n",
      "models/at_run.sql": "{{ later('select order_id from ' ~ ref('stg_orders')) }}\n",
      "models/after.sql": "select order_id, anything\nfrom {{ ref('at_run') }}\n",
      "tests/at_run_is_empty.sql": "{{ later('select * from ' ~ ref('at_run') ~ ' where 0') }}\n",
    });
    const manifest = await compileProject(dir);
    expect(manifest.nodes.map((n) => n.name).sort()).toEqual(["after", "at_run", "at_run_is_empty", "countries", "stg_orders"]);
  });

  it("reports every problem, one per line, in run order", async () => {
    const dir = await project({
      "models/a.sql": "select nope\nfrom {{ ref('stg_orders') }}\n",
      "models/b.sql": "select order_id\nfrom {{ ref('stg_orders') }}\nwhere x ilike any ('a')\n",
    });
    await expect(compileProject(dir)).rejects.toThrow(
      "models/b.sql:3: ilike any has no SQLite translation; write one like per pattern, joined with or\nmodels/a.sql:1: no such column: nope",
    );
  });

  it("npm run build fails with the message and writes no manifest", async () => {
    const dir = await project({ "models/hashed.sql": "select order_id,\n  md5(order_id) as hash\nfrom {{ ref('stg_orders') }}\n" });
    const out = join(dir, "manifest.json");
    const result = spawnSync(join(repoRoot, "node_modules", ".bin", "node"), ["scripts/compile-manifest.ts"], {
      cwd: repoRoot,
      encoding: "utf8",
      env: { ...process.env, SLUICE_PIPELINE_DIR: dir, SLUICE_MANIFEST_OUT: out },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("sluice compile failed: models/hashed.sql:2: no such function: md5\n");
    expect(spawnSync("test", ["-e", out]).status).toBe(1);
  });
});
