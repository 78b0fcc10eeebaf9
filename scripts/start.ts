/**
 * `npm start`: the main job on local state. Creates .dev.vars from .dev.vars.example when it is
 * missing, applies D1 migrations to .wrangler/state, then runs `wrangler dev` on 127.0.0.1 at
 * PORT (default 8787). Webhooks, queues, crons and reports all work locally, with state on disk.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { applyLocalMigrations, repoRoot } from "./lib/dev-server.ts";

const devVars = join(repoRoot, ".dev.vars");
if (!existsSync(devVars)) {
  copyFileSync(join(repoRoot, ".dev.vars.example"), devVars);
  console.log("sluice: created .dev.vars from .dev.vars.example (local secrets; git ignores it)");
}

console.log("sluice: applying D1 migrations to local state");
applyLocalMigrations();

const port = process.env.PORT ?? "8787";
console.log(`sluice: starting wrangler dev on http://127.0.0.1:${port}`);
const child = spawn(
  process.execPath,
  [join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js"), "dev", "--ip", "127.0.0.1", "--port", port, ...process.argv.slice(2)],
  { cwd: repoRoot, stdio: "inherit" },
);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
