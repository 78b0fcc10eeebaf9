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
            cloudflareTest(({ inject }) => ({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  ...testSecrets,
                  TEST_MIGRATIONS: migrations,
                  FAKE_API_URL: inject("fakeApiUrl"),
                  D1_FILES_URL: inject("d1FilesUrl"),
                  REDIRECTING_API_URL: inject("redirectingApiUrl"),
                  OTHER_ORIGIN_API_URL: inject("otherOriginApiUrl"),
                  FAKE_CLIENT_ID: "fake-client",
                  FAKE_CLIENT_SECRET: "fake-client-secret",
                  GITHUB_API_URL: inject("fakeApiUrl"),
                  STRIPE_API_URL: inject("fakeApiUrl"),
                  GITHUB_REPO: "acme/widgets",
                  GITHUB_TOKEN: "fake-token",
                  STRIPE_API_KEY: "fake-token",
                },
                // Tight real limiters, which tests swap in for the configured ones to reach 429.
                ratelimits: {
                  TIGHT_WEBHOOK_LIMITER: { namespace_id: "9001", simple: { limit: 3, period: 10 } },
                  TIGHT_AUTH_FAILURE_LIMITER: { namespace_id: "9002", simple: { limit: 2, period: 60 } },
                },
              },
            })),
          ],
          test: {
            name: "workers",
            globalSetup: ["./test/support/fake-api-setup.ts", "./test/support/d1-files-setup.ts"],
            include: ["test/**/*.test.ts"],
            exclude: ["test/e2e/**", "test/**/*.node.test.ts"],
            setupFiles: ["./test/support/apply-migrations.ts"],
            // A loaded machine stretches workerd's I/O; a test that hangs still fails, a slow one does not.
            testTimeout: 30_000,
          },
        },
        {
          // Some node tests run the build or the CLI as a user would, a process each: on two shared
          // cores one can take several seconds. Speed is the benchmarks' business, not a timeout's.
          test: { name: "node", include: ["test/**/*.node.test.ts"], environment: "node", testTimeout: 60_000 },
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
