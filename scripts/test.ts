/**
 * `npm test`: builds the model manifest, checks format and lint (Biome) and copy-paste (jscpd,
 * see .jscpd.json), type-checks, makes sure the programs the end-to-end tests drive are installed
 * (see lib/system-tools.ts), then runs every vitest project (workerd unit and integration tests,
 * and end-to-end tests against a real `wrangler dev`). Ends with a
 * plain `N passed, N failed` line so CI can tell a run that tested nothing from a green one.
 * Extra arguments go to vitest, e.g. `npm test -- test/ingest`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./lib/dev-server.ts";
import { ensureSystemTools } from "./lib/system-tools.ts";

const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);
const run = (command: string, args: string[]) => spawnSync(command, args, { cwd: repoRoot, stdio: "inherit" }).status ?? 1;

// `--fast` (the test:unit and test:e2e scripts) leaves lint and the type-check to the editor and `npm test`.
const fast = process.argv[2] === "--fast";
const vitestArgs = process.argv.slice(fast ? 3 : 2);
const steps: [string, string[]][] = [
  [bin("node"), ["scripts/compile-manifest.ts"]],
  ...(fast
    ? []
    : ([
        [bin("biome"), ["check", "."]],
        [bin("jscpd"), []],
        [bin("tsc"), ["-p", "tsconfig.json"]],
        [bin("tsc"), ["-p", "tsconfig.node.json"]],
      ] as [string, string[]][])),
];
for (const [command, args] of steps) {
  const status = run(command, args);
  if (status !== 0) {
    console.log("0 passed, 1 failed");
    process.exit(status);
  }
}

if (runsEndToEnd(vitestArgs) && !ensureSystemTools()) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}

const resultsFile = join(repoRoot, ".sluice", "test-results.json");
rmSync(resultsFile, { force: true });
const status = run(bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${resultsFile}`, ...vitestArgs]);

if (existsSync(resultsFile)) {
  const results = JSON.parse(readFileSync(resultsFile, "utf8")) as { numPassedTests: number; numFailedTests: number };
  console.log(`${results.numPassedTests} passed, ${results.numFailedTests} failed`);
} else {
  console.log("0 passed, 1 failed");
}
process.exit(status);

/** Whether vitest will run any end-to-end file: no filter, the e2e project, or a filter naming one. */
function runsEndToEnd(args: readonly string[]): boolean {
  const projects: string[] = [];
  const filters: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--project") projects.push(args[++i] ?? "");
    else if (arg.startsWith("--project=")) projects.push(arg.slice("--project=".length));
    else if (!arg.startsWith("-")) filters.push(arg);
  }
  if (projects.length > 0 && !projects.includes("e2e")) return false;
  if (filters.length === 0) return true;
  const files = readdirSync(join(repoRoot, "test", "e2e")).map((name) => `test/e2e/${name}`);
  return files.some((file) => filters.some((filter) => file.includes(filter.replace(/^\.\//, ""))));
}
