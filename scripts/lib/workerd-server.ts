/**
 * Serves the production bundle straight from workerd through Miniflare, for benchmarks that
 * measure request latency. `wrangler dev` puts its development proxy in front of the Worker, and
 * on a 2-core machine that proxy tops out near 750 req/s however little the Worker does; workerd
 * on its own serves several thousand. The Worker is the one `wrangler deploy --dry-run` builds,
 * with the bindings wrangler.toml declares and the same state folder layout as `wrangler dev
 * --persist-to`, so `queryLocalD1` reads and writes the same database. With
 * `SLUICE_INSPECTOR_PORT` set, workerd opens the V8 inspector there, for CPU profiles of a run.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { applyLocalMigrations, repoRoot, wranglerCommand } from "./dev-server.ts";

export interface WorkerdServer {
  url: string;
  persistTo: string;
  stop(): Promise<void>;
}

/**
 * Builds the bundle `wrangler deploy` would upload (for `env`, if given) into `outdir`, and
 * returns its entry module and what wrangler printed (the bindings it would deploy).
 */
export function buildBundle(outdir: string, options: { configPath?: string; env?: string } = {}): { entry: string; output: string } {
  const args = [
    "deploy",
    "--dry-run",
    "--outdir",
    outdir,
    "-c",
    options.configPath ?? "wrangler.toml",
    ...(options.env ? ["--env", options.env] : []),
  ];
  const result = spawnSync(...wranglerCommand(args), { cwd: repoRoot, encoding: "utf8", env: { ...process.env, CI: "true" } });
  if (result.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${result.stdout}\n${result.stderr}`);
  // wrangler names the bundle after the config's `main` (index.ts gives index.js).
  const entry = readdirSync(outdir).find((name) => name.endsWith(".js"));
  if (!entry) throw new Error(`wrangler deploy --dry-run wrote no bundle into ${outdir}`);
  return { entry: join(outdir, entry), output: result.stdout };
}

/**
 * `persistTo`, another server's state folder: this Worker serves the same local D1 database (its
 * config must name the same database_id), for a floor measured on the very data Sluice reads.
 * Stopping this server then leaves the folder to its owner.
 */
export async function startWorkerd(options: {
  vars: Record<string, string>;
  configPath?: string;
  persistTo?: string;
  /**
   * Limits for rate limiting bindings the config declares, replacing its `simple` limits: a
   * benchmark that would exceed a production limit raises it, for Sluice and its floor alike,
   * rather than skip the limiter call.
   */
  rateLimits?: Record<string, { limit: number; period: 10 | 60 }>;
}): Promise<WorkerdServer> {
  const configPath = join(repoRoot, options.configPath ?? "wrangler.toml");
  const persistTo = options.persistTo ?? mkdtempSync(join(tmpdir(), "sluice-workerd-"));
  applyLocalMigrations(persistTo, configPath);
  const scriptPath = buildBundle(mkdtempSync(join(persistTo, "dist-")), { configPath }).entry;

  // The bundle is one module, so wrangler's module rules do not apply (and Miniflare 5 rejects them).
  const { modulesRules: _rules, ...workerOptions } = unstable_getMiniflareWorkerOptions(configPath).workerOptions;
  const ratelimits = (workerOptions.ratelimits ?? {}) as Record<string, { simple: { limit: number; period: number } }>;
  for (const [name, simple] of Object.entries(options.rateLimits ?? {})) {
    const declared = ratelimits[name];
    if (!declared) throw new Error(`${configPath} declares no rate limiting binding ${name}`);
    ratelimits[name] = { ...declared, simple };
  }
  // Only wrangler.toml's vars and the ones given: never a developer's .dev.vars.
  const declared = unstable_readConfig({ config: configPath }).vars as Record<string, string>;
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      ...workerOptions,
      name: "sluice",
      modules: true,
      scriptPath,
      // Module names are relative to the root, and workerd refuses names that climb out of it.
      rootPath: dirname(scriptPath),
      bindings: { ...declared, ...options.vars },
      // Benchmarks trigger no crons; queues still deliver as wrangler.toml configures them.
      cronTriggers: [],
      resourcePersistencePath: join(persistTo, "v3"),
      ...(process.env.SLUICE_INSPECTOR_PORT ? { inspectorPort: Number(process.env.SLUICE_INSPECTOR_PORT) } : {}),
    }),
  );
  const url = (await mf.ready).href.replace(/\/$/, "");
  return {
    url,
    persistTo,
    stop: async () => {
      await mf.dispose();
      if (!options.persistTo) rmSync(persistTo, { recursive: true, force: true });
    },
  };
}
