/**
 * Checks that the files a deploy depends on agree with each other: wrangler.toml, the pipeline
 * config, .dev.vars.example and the build step. Runs in Node, since it reads the project's files.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import pipeline from "../../pipeline/sluice.config.ts";
import { repoRoot } from "../../scripts/lib/dev-server.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { pipelineCrons } from "../../src/crons.ts";

interface Binding {
  binding: string;
  queue?: string;
}
interface Consumer {
  queue: string;
}
const wrangler = unstable_readConfig({ config: join(repoRoot, "wrangler.toml") }) as {
  d1_databases: Binding[];
  r2_buckets: Binding[];
  queues: { producers?: Binding[]; consumers?: Consumer[] };
  triggers: { crons: string[] };
  compatibility_flags: string[];
};
const config = parseConfig(pipeline);

describe("wrangler.toml", () => {
  it("binds D1 DB, R2 RAW and the INGEST and PULL queues", () => {
    expect(wrangler.d1_databases.map((d) => d.binding)).toEqual(["DB"]);
    expect(wrangler.r2_buckets.map((b) => b.binding)).toEqual(["RAW"]);
    expect(wrangler.queues.producers?.map((p) => p.binding).sort()).toEqual(["INGEST", "PULL"]);
  });

  it("gives each queue consumer explicit batching, retries and a dead-letter queue that is consumed too", () => {
    const consumers = wrangler.queues.consumers ?? [];
    for (const producer of wrangler.queues.producers ?? []) {
      const consumer = consumers.find((c) => c.queue === producer.queue);
      expect(consumer, producer.queue).toMatchObject({
        max_batch_size: expect.any(Number),
        max_batch_timeout: expect.any(Number),
        max_retries: expect.any(Number),
        dead_letter_queue: `${producer.queue}-dlq`,
      });
      expect(consumers.map((c) => c.queue)).toContain(`${producer.queue}-dlq`);
    }
  });

  it("schedules exactly the crons the project derives (npm run build writes them)", () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, ".sluice", "manifest.json"), "utf8"));
    expect(wrangler.triggers.crons).toEqual(pipelineCrons(config, manifest));
    expect(wrangler.triggers.crons).toEqual(expect.arrayContaining([config.models.schedule, config.lake.schedule, "0 * * * *"]));
  });

  it("does not enable nodejs_compat", () => {
    expect(wrangler.compatibility_flags).not.toContain("nodejs_compat");
  });
});

describe(".dev.vars.example", () => {
  it("names every secret the pipeline and the API read", () => {
    const names = readFileSync(join(repoRoot, ".dev.vars.example"), "utf8")
      .split("\n")
      .filter((line) => /^[A-Z]/.test(line))
      .map((line) => line.split("=")[0]);
    const needed = [...Object.values(config.sources).flatMap((s) => s.secrets), "REPORT_TOKENS", "ADMIN_TOKENS"];
    for (const name of needed) expect(names).toContain(name);
  });
});

describe("npm run build", () => {
  const build = (pipelineDir: string) =>
    spawnSync(join(repoRoot, "node_modules", ".bin", "node"), ["scripts/compile-manifest.ts"], {
      cwd: repoRoot,
      encoding: "utf8",
      env: { ...process.env, SLUICE_PIPELINE_DIR: pipelineDir, SLUICE_MANIFEST_OUT: join(pipelineDir, "manifest.json") },
    });

  it("compiles a pipeline folder and fails with file and line on a missing ref", () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-build-"));
    try {
      mkdirSync(join(dir, "models"));
      writeFileSync(join(dir, "dbt_project.yml"), "name: shop\n");
      writeFileSync(join(dir, "models", "orders.sql"), "select 1 as id\n");
      const ok = build(dir);
      expect(ok.status, ok.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      expect(manifest.nodes.map((n: { uniqueId: string }) => n.uniqueId)).toEqual(["model.shop.orders"]);

      writeFileSync(join(dir, "models", "broken.sql"), "select *\nfrom {{ ref('nope') }}\n");
      const failed = build(dir);
      expect(failed.status).toBe(1);
      expect(failed.stderr).toContain("sluice compile failed: models/broken.sql:2: ref('nope') names no model");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails on an invalid cron in the pipeline config, naming the file and the expression", () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-cron-"));
    try {
      mkdirSync(join(dir, "models"));
      writeFileSync(join(dir, "models", "orders.sql"), "select 1 as id\n");
      writeFileSync(join(dir, "sluice.config.ts"), 'export default { models: { schedule: "*/15 * * * 8" } };\n');
      const failed = build(dir);
      expect(failed.status).toBe(1);
      expect(failed.stderr).toContain(
        `sluice compile failed: ${relative(repoRoot, join(dir, "sluice.config.ts"))}: pipeline config is invalid:`,
      );
      expect(failed.stderr).toContain('invalid cron "*/15 * * * 8": Invalid value for dayOfWeek: 8');
      expect(failed.stderr).toContain("at models.schedule");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
