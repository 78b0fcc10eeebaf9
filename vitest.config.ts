import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { testSecrets } from "./test/support/fixtures.ts";

// Three projects: `workers` runs unit and integration tests inside workerd with real D1, R2
// and Queues bindings from wrangler.toml; `node` checks project files and scripts; `e2e` runs
// in Node and drives a real `wrangler dev` over HTTP.
export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: { bindings: { ...testSecrets, TEST_MIGRATIONS: migrations } },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/**/*.test.ts"],
            exclude: ["test/e2e/**", "test/**/*.node.test.ts"],
            setupFiles: ["./test/support/apply-migrations.ts"],
          },
        },
        {
          test: { name: "node", include: ["test/**/*.node.test.ts"], environment: "node" },
        },
        {
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            environment: "node",
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
