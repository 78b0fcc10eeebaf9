/**
 * The production bundle builds for every environment (`wrangler deploy --dry-run --outdir dist`)
 * and stays within its budget of 1 MiB gzipped, so a deploy never fails on size or on a module
 * that only resolves locally. The deploy script refuses an environment wrangler.toml lacks.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../scripts/lib/dev-server.ts";
import { buildBundle } from "../../scripts/lib/workerd-server.ts";

const budgetBytes = 1024 * 1024;

describe("production bundle", () => {
  for (const env of [undefined, "staging", "production"]) {
    it(`builds for ${env ?? "the top-level config"} within 1 MiB gzipped`, () => {
      const bundle = buildBundle(join(repoRoot, "dist", env ?? "default"), env ? { env } : {});
      const gzipped = gzipSync(readFileSync(bundle.entry)).byteLength;
      expect(gzipped).toBeGreaterThan(50_000); // the whole Worker, not an empty stub
      expect(gzipped).toBeLessThanOrEqual(budgetBytes);
      if (env) {
        // Each deployed environment binds its own D1, R2 and queues.
        expect(bundle.output).toContain(`sluice-${env}-ingest`);
        expect(bundle.output).toContain(`sluice-${env}-raw`);
      }
    }, 120_000);
  }
});

describe("npm run deploy", () => {
  it("requires a known environment before touching anything remote", () => {
    for (const args of [[], ["--env", "prod"]]) {
      const result = spawnSync(join(repoRoot, "node_modules", ".bin", "node"), ["scripts/deploy.ts", ...args], {
        cwd: repoRoot,
        encoding: "utf8",
      });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("usage: npm run deploy -- --env <staging|production>");
    }
  });
});
