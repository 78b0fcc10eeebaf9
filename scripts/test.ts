/**
 * `npm test`: builds the model manifest, type-checks, then runs every vitest project (workerd
 * unit and integration tests, and end-to-end tests against a real `wrangler dev`). Ends with a
 * plain `N passed, N failed` line so CI can tell a run that tested nothing from a green one.
 * Extra arguments go to vitest, e.g. `npm test -- test/ingest`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "./lib/dev-server.ts";

const bin = (name: string) => join(projectRoot, "node_modules", ".bin", name);
const run = (command: string, args: string[]) =>
  spawnSync(command, args, { cwd: projectRoot, stdio: "inherit" }).status ?? 1;

const steps: [string, string[]][] = [
  [bin("node"), ["scripts/build-manifest.ts"]],
  [bin("tsc"), ["-p", "tsconfig.json"]],
  [bin("tsc"), ["-p", "tsconfig.node.json"]],
];
for (const [command, args] of steps) {
  const status = run(command, args);
  if (status !== 0) {
    console.log("0 passed, 1 failed");
    process.exit(status);
  }
}

const resultsFile = join(projectRoot, ".sluice", "test-results.json");
rmSync(resultsFile, { force: true });
const status = run(bin("vitest"), [
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${resultsFile}`,
  ...process.argv.slice(2),
]);

if (existsSync(resultsFile)) {
  const results = JSON.parse(readFileSync(resultsFile, "utf8")) as { numPassedTests: number; numFailedTests: number };
  console.log(`${results.numPassedTests} passed, ${results.numFailedTests} failed`);
} else {
  console.log("0 passed, 1 failed");
}
process.exit(status);
