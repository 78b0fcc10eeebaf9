/**
 * `npm run bench -- compile`: dbt's loudest complaint is parse time. A generated project of 1,000
 * models (200 staging views over 50 declared streams, 400 intermediate models, 400 marts, with
 * `config()`, `var`, `if`, loops and `is_incremental()`) and 5,000 tests in properties YAML, compiled
 * by the code `npm run build` runs (compileProject). In one run it alternates the full compile (A)
 * with reading the files alone (B, the floor), three times each, and prints the best of each.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { compileProject, readProjectFiles } from "../scripts/lib/project.ts";

const sources = 10;
const streamsPerSource = 5;
const staging = 200;
const intermediate = 400;
const marts = 400;
const rounds = 3;

async function write(root: string, path: string, text: string) {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), text);
}

/** Five tests per model: unique and not_null on its key, not_null on a value, accepted_values, relationships. */
function properties(models: { name: string; parent: string }[]): string {
  const entries = models.map(
    ({ name, parent }) => `  - name: ${name}
    config:
      tags: [generated]
    columns:
      - name: id
        data_tests:
          - unique
          - not_null
          - relationships:
              to: ref('${parent}')
              field: id
      - name: status
        data_tests:
          - not_null:
              config:
                severity: warn
          - accepted_values:
              values: ["open", "closed", "pending"]
`,
  );
  return `version: 2\nmodels:\n${entries.join("")}`;
}

export async function generateProject(root: string): Promise<void> {
  const configModule = resolve(import.meta.dirname, "../src/config/schema.ts");
  const streams = Array.from({ length: streamsPerSource }, (_, i) => `s${i}: { match: ["s${i}"] }`).join(", ");
  const sourceList = Array.from(
    { length: sources },
    (_, i) => `src${i}: { provider: "stripe", secrets: ["SECRET_${i}"], defaultStream: "s0", streams: { ${streams} } }`,
  );
  await write(
    root,
    "sluice.config.ts",
    `import { defineConfig } from ${JSON.stringify(configModule)};\nexport default defineConfig({ sources: { ${sourceList.join(",\n")} } });\n`,
  );
  await write(
    root,
    "dbt_project.yml",
    `name: bench
vars:
  include_closed: false
  currencies: ["usd", "eur", "gbp"]
models:
  bench:
    staging:
      +materialized: view
      +tags: [staging]
    intermediate:
      +materialized: ephemeral
    marts:
      +materialized: table
data_tests:
  bench:
    +severity: error
`,
  );
  const stagingProps: { name: string; parent: string }[] = [];
  for (let i = 0; i < staging; i++) {
    const source = `src${i % sources}`;
    const stream = `s${Math.floor(i / sources) % streamsPerSource}`;
    const name = `stg_${i}`;
    await write(
      root,
      `models/staging/${source}/${name}.sql`,
      `{{ config(materialized='view', tags=['${source}']) }}
select
  _sluice_key as id,
  {% for column in ['status', 'amount', 'currency'] %}json_extract(payload, '$.{{ column }}') as {{ column }}{% if not loop.last %},{% endif %}
  {% endfor %}
from {{ source('${source}', '${stream}') }}
{% if not var('include_closed') %}where json_extract(payload, '$.status') != 'closed'{% endif %}
`,
    );
    stagingProps.push({ name, parent: i === 0 ? name : `stg_${i - 1}` });
  }
  const intermediateProps: { name: string; parent: string }[] = [];
  for (let i = 0; i < intermediate; i++) {
    const name = `int_${i}`;
    const a = `stg_${i % staging}`;
    const b = `stg_${(i * 7 + 3) % staging}`;
    await write(
      root,
      `models/intermediate/group_${i % 20}/${name}.sql`,
      `select a.id, a.status, a.amount + coalesce(b.amount, 0) as amount,
  {% for currency in var('currencies') %}sum(case when a.currency = '{{ currency }}' then a.amount end) over () as total_{{ currency }}{% if not loop.last %},{% endif %}
  {% endfor %}
from {{ ref('${a}') }} as a
left join {{ ref('${b}') }} as b on a.id = b.id
`,
    );
    intermediateProps.push({ name, parent: a });
  }
  const martProps: { name: string; parent: string }[] = [];
  for (let i = 0; i < marts; i++) {
    const name = `mart_${i}`;
    const parents = [`int_${i % intermediate}`, `int_${(i * 3 + 1) % intermediate}`];
    const incremental = i % 4 === 0;
    await write(
      root,
      `models/marts/domain_${i % 10}/${name}.sql`,
      `{{ config(materialized='${incremental ? "incremental" : "table"}'${incremental ? ", unique_key='id'" : ""}) }}
{% set parents = ${JSON.stringify(parents).replaceAll('"', "'")} %}
{% for parent in parents %}
select id, status, amount from {{ ref(parent) }}
{% if is_incremental() %}where id > (select coalesce(max(id), '') from {{ this }}){% endif %}
{% if not loop.last %}union all{% endif %}
{% endfor %}
`,
    );
    martProps.push({ name, parent: parents[0]! });
  }
  const chunks = <T>(list: T[], size: number) =>
    Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, i * size + size));
  for (const [i, chunk] of chunks(stagingProps, 50).entries()) await write(root, `models/staging/_staging_${i}.yml`, properties(chunk));
  for (const [i, chunk] of chunks(intermediateProps, 50).entries())
    await write(root, `models/intermediate/_int_${i}.yml`, properties(chunk));
  for (const [i, chunk] of chunks(martProps, 50).entries()) await write(root, `models/marts/_marts_${i}.yml`, properties(chunk));
}

export async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "sluice-bench-compile-"));
  try {
    await generateProject(root);
    const compileRuns: number[] = [];
    const readRuns: number[] = [];
    let counts = { models: 0, tests: 0 };
    for (let round = 0; round < rounds; round++) {
      let started = performance.now();
      const manifest = await compileProject(root);
      compileRuns.push(performance.now() - started);
      counts = {
        models: manifest.nodes.filter((n) => n.resourceType === "model").length,
        tests: manifest.nodes.filter((n) => n.resourceType === "test").length,
      };
      started = performance.now();
      await readProjectFiles(root);
      readRuns.push(performance.now() - started);
    }
    const ms = Math.round(Math.min(...compileRuns));
    const readMs = Math.round(Math.min(...readRuns));
    console.log(
      `compile (A): ${compileRuns.map((r) => Math.round(r)).join(", ")} ms; reading the files (B): ${readRuns.map((r) => Math.round(r)).join(", ")} ms`,
    );
    console.log(
      `best compile ${ms} ms for ${counts.models} models and ${counts.tests} tests (target < 5000 ms); reading alone ${readMs} ms`,
    );
    console.log(
      JSON.stringify({
        bench: "compile",
        ms,
        ms_per_model: Number((ms / counts.models).toFixed(3)),
        models: counts.models,
        tests: counts.tests,
        read_ms: readMs,
      }),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
