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
import { dirname, join, resolve } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { applyLocalMigrations, repoRoot, wranglerCommand } from "./dev-server.ts";

export interface WorkerdServer {
  url: string;
  persistTo: string;
  /** A companion Worker of the same workerd (see `companions`), reached without a port. */
  companion(name: string): Promise<{ fetch(url: string, init?: RequestInit): Promise<Response> }>;
  stop(): Promise<void>;
}

/**
 * Builds the bundle `wrangler deploy` would upload (for `env`, if given) into `outdir`, and
 * returns its entry module and what wrangler printed (the bindings it would deploy).
 */
export function buildBundle(
  outdir: string,
  options: { configPath?: string; env?: string; cwd?: string } = {},
): { entry: string; output: string } {
  const args = [
    "deploy",
    "--dry-run",
    "--outdir",
    outdir,
    "-c",
    options.configPath ?? "wrangler.toml",
    ...(options.env ? ["--env", options.env] : []),
  ];
  const result = spawnSync(...wranglerCommand(args), {
    cwd: options.cwd ?? repoRoot,
    encoding: "utf8",
    env: { ...process.env, CI: "true" },
  });
  if (result.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${result.stdout}\n${result.stderr}`);
  // wrangler names the bundle after the config's `main` (index.ts gives index.js).
  const entry = readdirSync(outdir).find((name) => name.endsWith(".js"));
  if (!entry) throw new Error(`wrangler deploy --dry-run wrote no bundle into ${outdir}`);
  return { entry: join(outdir, entry), output: result.stdout };
}

/**
 * `persistTo`, another server's state folder: this Worker serves the same local D1 database (its
 * config must name the same database_id), for a floor measured on the very data Sluice reads.
 * Stopping this server then leaves the folder to its owner. `checkout`: a copy of the checkout to
 * build Sluice from (its own pipeline/, say). `companions`: more Workers in the same workerd, so
 * they share its queues as well as its D1 and R2 (a floor that sends into Sluice's queue).
 */
export async function startWorkerd(options: {
  vars: Record<string, string>;
  configPath?: string;
  persistTo?: string;
  checkout?: string;
  companions?: { name: string; configPath: string; vars: Record<string, string> }[];
  /**
   * Limits for rate limiting bindings the configs declare, replacing their `simple` limits: a
   * benchmark that would exceed a production limit raises it, for Sluice and its floor alike,
   * rather than skip the limiter call.
   */
  rateLimits?: Record<string, { limit: number; period: 10 | 60 }>;
}): Promise<WorkerdServer> {
  const root = options.checkout ?? repoRoot;
  const configPath = resolve(root, options.configPath ?? "wrangler.toml");
  const persistTo = options.persistTo ?? mkdtempSync(join(tmpdir(), "sluice-workerd-"));
  applyLocalMigrations(persistTo, configPath);
  const worker = (name: string, config: string, vars: Record<string, string>, cwd: string) => {
    const scriptPath = buildBundle(mkdtempSync(join(persistTo, "dist-")), { configPath: config, cwd }).entry;
    // The bundle is one module, so wrangler's module rules do not apply (and Miniflare 5 rejects them).
    const { modulesRules: _rules, ...workerOptions } = unstable_getMiniflareWorkerOptions(config).workerOptions;
    const ratelimits = (workerOptions.ratelimits ?? {}) as Record<string, { simple: { limit: number; period: number } }>;
    for (const [binding, simple] of Object.entries(options.rateLimits ?? {})) {
      const declaredLimit = ratelimits[binding];
      if (!declaredLimit) throw new Error(`${config} declares no rate limiting binding ${binding}`);
      ratelimits[binding] = { ...declaredLimit, simple };
    }
    // Only wrangler.toml's vars and the ones given: never a developer's .dev.vars.
    const declared = unstable_readConfig({ config }).vars as Record<string, string>;
    return {
      ...workerOptions,
      name,
      modules: true,
      scriptPath,
      // Module names are relative to the root, and workerd refuses names that climb out of it.
      rootPath: dirname(scriptPath),
      bindings: { ...declared, ...vars },
      // Benchmarks trigger no crons; queues still deliver as wrangler.toml configures them.
      cronTriggers: [],
    };
  };
  const workers = [
    worker("sluice", configPath, options.vars, root),
    ...(options.companions ?? []).map((c) => worker(c.name, resolve(repoRoot, c.configPath), c.vars, repoRoot)),
  ];
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      workers: workers as never,
      resourcePersistencePath: join(persistTo, "v3"),
      ...(process.env.SLUICE_INSPECTOR_PORT ? { inspectorPort: Number(process.env.SLUICE_INSPECTOR_PORT) } : {}),
    }),
  );
  const url = (await mf.ready).href.replace(/\/$/, "");
  return {
    url,
    persistTo,
    companion: async (name) => {
      const fetcher = await mf.getWorker(name);
      return { fetch: (target, init) => fetcher.fetch(target, init as never) as unknown as Promise<Response> };
    },
    stop: async () => {
      await mf.dispose();
      if (!options.persistTo) rmSync(persistTo, { recursive: true, force: true });
    },
  };
}
