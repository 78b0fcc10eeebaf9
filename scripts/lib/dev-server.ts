/**
 * Starts a real `wrangler dev` for end-to-end tests and benchmarks: a free port on 127.0.0.1,
 * its own state folder with migrations applied, and vars from an env file (so a developer's
 * .dev.vars never leaks into a test). Resolves once /v1/health answers 200.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The Sluice checkout (package.json, wrangler.toml), as opposed to the pipeline's dbt project. */
export const repoRoot = resolve(import.meta.dirname, "../..");
// Wrangler runs on the Node that runs this script (Node 24 from node_modules/.bin under npm),
// never on whatever `node` a shebang would find first on PATH.
const wranglerJs = join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");
export const wranglerCommand = (args: string[]) => [process.execPath, [wranglerJs, ...args]] as const;

export interface DevServer {
  url: string;
  port: number;
  /** wrangler's process id; workerd runs among its descendants. */
  pid: number;
  persistTo: string;
  /** Everything wrangler and the Worker printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

export function applyLocalMigrations(persistTo?: string, configPath?: string): void {
  const args = [
    "d1",
    "migrations",
    "apply",
    "DB",
    "--local",
    ...(persistTo ? ["--persist-to", persistTo] : []),
    ...(configPath ? ["-c", configPath] : []),
  ];
  const result = spawnSync(...wranglerCommand(args), { cwd: repoRoot, encoding: "utf8", env: { ...process.env, CI: "true" } });
  if (result.status !== 0) {
    throw new Error(`wrangler d1 migrations apply failed:\n${result.stdout}\n${result.stderr}`);
  }
}

/** Runs one SQL statement against a local D1 state folder and returns its rows. */
export function queryLocalD1<Row = Record<string, unknown>>(persistTo: string, sql: string): Row[] {
  const args = ["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--json", "--command", sql];
  const result = spawnSync(...wranglerCommand(args), { cwd: repoRoot, encoding: "utf8", env: { ...process.env, CI: "true" } });
  if (result.status !== 0) throw new Error(`wrangler d1 execute failed:\n${result.stdout}\n${result.stderr}`);
  const parsed = JSON.parse(result.stdout) as { results: Row[] }[];
  return parsed[0]?.results ?? [];
}

export interface DevServerOptions {
  vars: Record<string, string>;
  /** Another wrangler config (the benchmarks' Worker); wrangler.toml by default. */
  configPath?: string;
  /** The path that answers 200 once the Worker is up. */
  readyPath?: string;
  timeoutMs?: number;
  /** Apply the D1 migrations first (true unless the Worker has no D1). */
  migrate?: boolean;
  /**
   * A pipeline folder other than pipeline/ (SLUICE_PIPELINE_DIR), relative to the checkout. The
   * Worker is then built in a copy of the checkout, so the checkout's .sluice/ bundle, which other
   * tests and running dev servers read, stays as it is.
   */
  pipelineDir?: string;
}

/** What `wrangler dev` builds the Worker from, copied; node_modules is linked. */
const checkoutFiles = ["src", "scripts", "migrations", "pipeline", "package.json", "wrangler.toml", "tsconfig.json"];

export function copyCheckout(into: string): string {
  const root = join(into, "checkout");
  for (const file of checkoutFiles) cpSync(join(repoRoot, file), join(root, file), { recursive: true });
  symlinkSync(join(repoRoot, "node_modules"), join(root, "node_modules"), "dir");
  return root;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const persistTo = mkdtempSync(join(tmpdir(), "sluice-e2e-"));
  const envFile = join(persistTo, "test.env");
  writeFileSync(
    envFile,
    `${Object.entries(options.vars)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n")}\n`,
  );
  const checkout = options.pipelineDir === undefined ? repoRoot : copyCheckout(persistTo);
  const configPath = options.pipelineDir === undefined ? options.configPath : join(checkout, options.configPath ?? "wrangler.toml");
  if (options.migrate !== false) applyLocalMigrations(persistTo, configPath);

  const port = await freePort();
  const child: ChildProcess = spawn(
    ...wranglerCommand([
      "dev",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      persistTo,
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
      ...(configPath ? ["-c", configPath] : []),
    ]),
    {
      cwd: checkout,
      env: {
        ...process.env,
        CI: "true",
        NO_COLOR: "1",
        ...(options.pipelineDir === undefined ? {} : { SLUICE_PIPELINE_DIR: resolve(repoRoot, options.pipelineDir) }),
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((done) => child.once("exit", done));
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((done) => setTimeout(done, 5000))]);
      if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    }
    rmSync(persistTo, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`${url}${options.readyPath ?? "/v1/health"}`);
      if (response.status === 200) return { url, port, pid: child.pid!, persistTo, output: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become healthy on ${url}:\n${output}`);
}
