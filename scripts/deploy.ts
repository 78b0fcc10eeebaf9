/**
 * `npm run deploy -- --env <staging|production>`: applies the environment's D1 migrations to the
 * remote database, then deploys the Worker (which builds the pipeline's manifest first). A
 * failed migration stops before any code changes. Further arguments go to `wrangler deploy`.
 * Credentials come from `wrangler login` or CLOUDFLARE_API_TOKEN; see docs/deploy.md.
 */
import { spawnSync } from "node:child_process";
import { repoRoot, wranglerCommand } from "./lib/dev-server.ts";

const environments = ["staging", "production"];
const args = process.argv.slice(2);
const at = args.findIndex((arg) => arg === "--env" || arg === "-e");
const env = at >= 0 ? args[at + 1] : args.find((arg) => arg.startsWith("--env="))?.slice("--env=".length);
const rest = args.filter((arg, i) => !(at >= 0 && (i === at || i === at + 1)) && !arg.startsWith("--env="));
if (!env || !environments.includes(env)) {
  console.error(
    `usage: npm run deploy -- --env <${environments.join("|")}>${env ? `\nno environment named "${env}" in wrangler.toml` : ""}`,
  );
  process.exit(2);
}

const step = (args: string[]) => {
  console.log(`\n$ wrangler ${args.join(" ")}`);
  const status = spawnSync(...wranglerCommand(args), { cwd: repoRoot, stdio: "inherit" }).status ?? 1;
  if (status !== 0) process.exit(status);
};
step(["d1", "migrations", "apply", "DB", "--remote", "--env", env]);
step(["deploy", "--env", env, ...rest]);
