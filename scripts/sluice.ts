/**
 * `npm run sluice -- <command>`: the operator's CLI, an HTTP client of the ops API, so it works
 * the same against `npm start` and a deployed Worker. SLUICE_URL (default
 * http://127.0.0.1:8787) says where; SLUICE_ADMIN_TOKEN, or the first of ADMIN_TOKENS in
 * .dev.vars, authenticates.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "./lib/dev-server.ts";

const commands: Record<string, { path: string; help: string }> = {
  health: { path: "/v1/health", help: "bindings and migrations" },
  loads: { path: "/v1/loads", help: "the load ledger, newest first" },
  runs: { path: "/v1/runs", help: "model runs, newest first" },
  reports: { path: "/v1/reports", help: "the declared reports" },
};

function adminToken(): string | undefined {
  if (process.env.SLUICE_ADMIN_TOKEN) return process.env.SLUICE_ADMIN_TOKEN;
  const devVars = join(projectRoot, ".dev.vars");
  if (!existsSync(devVars)) return undefined;
  const line = readFileSync(devVars, "utf8").split("\n").find((l) => l.startsWith("ADMIN_TOKENS="));
  return line?.slice("ADMIN_TOKENS=".length).split(",")[0]?.trim();
}

async function main() {
  const [name, ...rest] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  if (!command) {
    console.log("usage: npm run sluice -- <command> [key=value …]\n");
    for (const [key, { help }] of Object.entries(commands)) console.log(`  ${key.padEnd(8)} ${help}`);
    process.exit(name ? 2 : 0);
  }
  const url = new URL(command.path, process.env.SLUICE_URL ?? "http://127.0.0.1:8787");
  for (const pair of rest) {
    const [key, value] = pair.split("=", 2);
    if (key && value !== undefined) url.searchParams.set(key, value);
  }
  const token = adminToken();
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  console.log(JSON.stringify(await response.json(), null, 2));
  process.exit(response.ok ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(`sluice: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
