/**
 * `npm run sluice -- <command>`: the operator's CLI. `build`, `run`, `test` and `seed` go to the
 * ops API of a local or deployed Worker (`--url`, default http://127.0.0.1:8787; the admin
 * token from SLUICE_ADMIN_TOKEN or the first of ADMIN_TOKENS in .dev.vars). `compile` and `ls`
 * work offline on the project folder (SLUICE_PIPELINE_DIR, default pipeline/).
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { compileManifest } from "../src/models/compile/index.ts";
import { compileNode } from "../src/models/compile-node.ts";
import { selectedIds } from "../src/models/selection.ts";
import { repoRoot } from "./lib/dev-server.ts";
import { readProjectFiles } from "./lib/project.ts";

/** `--vars` as dbt takes it: YAML (or JSON) text of a mapping. */
function parseVars(text: string): Record<string, unknown> {
  const parsed: unknown = parseYaml(text);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(`--vars must be YAML or JSON text of a mapping, such as '{start_date: "2024-01-01"}'; got ${JSON.stringify(text)}`);
  }
  return parsed as Record<string, unknown>;
}

const usage = `usage: npm run sluice -- <command> [--select …] [--exclude …] [--selector NAME] [--full-refresh] [--vars '{key: value}'] [--url URL]

  build | run | test | seed   run dbt-style commands on the Worker (POST /v1/models/build)
  compile                     print the rendered SQL of the selected nodes (offline)
  ls                          list the selected nodes (offline)
  health | sources | loads | runs | reports | pulls | freshness | reconcile | monitors | anomalies | incidents
                              read the ops API
  ack ID                      acknowledge an incident (POST /v1/incidents/ID/ack)
  mute ID --until TIME        mute an incident's notifications until TIME (ISO-8601; "none" unmutes)`;

const reads: Record<string, string> = {
  health: "/v1/health",
  sources: "/v1/sources",
  loads: "/v1/loads",
  runs: "/v1/runs",
  reports: "/v1/reports",
  pulls: "/v1/pulls",
  freshness: "/v1/freshness",
  reconcile: "/v1/reconcile",
  monitors: "/v1/monitors",
  anomalies: "/v1/anomalies",
  incidents: "/v1/incidents",
};

function adminToken(): string | undefined {
  if (process.env.SLUICE_ADMIN_TOKEN) return process.env.SLUICE_ADMIN_TOKEN;
  const devVars = join(repoRoot, ".dev.vars");
  if (!existsSync(devVars)) return undefined;
  const line = readFileSync(devVars, "utf8")
    .split("\n")
    .find((l) => l.startsWith("ADMIN_TOKENS="));
  return line?.slice("ADMIN_TOKENS=".length).split(",")[0]?.trim();
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      select: { type: "string", short: "s", multiple: true },
      models: { type: "string", short: "m", multiple: true },
      exclude: { type: "string", multiple: true },
      selector: { type: "string" },
      "full-refresh": { type: "boolean" },
      vars: { type: "string" },
      url: { type: "string" },
      until: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command] = positionals;
  if (!command || values.help) {
    console.log(usage);
    process.exit(command ? 0 : 2);
  }
  const select = [...(values.select ?? []), ...(values.models ?? [])];
  const exclude = values.exclude ?? [];
  const vars = values.vars === undefined ? undefined : parseVars(values.vars);
  const base = values.url ?? process.env.SLUICE_URL ?? `http://127.0.0.1:${process.env.PORT ?? "8787"}`;
  const token = adminToken();
  const headers = { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) };

  if (command === "compile" || command === "ls") {
    const files = await readProjectFiles(resolve(repoRoot, process.env.SLUICE_PIPELINE_DIR ?? "pipeline"));
    const manifest = await compileManifest(files, { env: process.env, ...(vars ? { vars } : {}) });
    const chosen = selectedIds(manifest, { select, exclude, selector: values.selector });
    for (const node of manifest.nodes.filter((n) => chosen.has(n.uniqueId))) {
      if (command === "ls") console.log(node.uniqueId);
      else if (node.resourceType !== "seed" && node.resourceType !== "unit_test")
        console.log(`-- ${node.uniqueId} (${node.path})\n${await compileNode(manifest, node, vars ? { vars } : {})};\n`);
    }
    return;
  }

  if (["build", "run", "test", "seed"].includes(command)) {
    const response = await fetch(new URL("/v1/models/build", base), {
      method: "POST",
      headers,
      body: JSON.stringify({
        command,
        ...(select.length ? { select } : {}),
        ...(exclude.length ? { exclude } : {}),
        ...(values.selector ? { selector: values.selector } : {}),
        full_refresh: values["full-refresh"] === true,
        ...(vars ? { vars } : {}),
      }),
    });
    const body = (await response.json()) as {
      status?: string;
      elapsed_time?: number;
      results?: { unique_id: string; status: string; execution_time: number; message: string | null }[];
      error?: { message: string };
    };
    if (!body.results) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
    for (const [i, r] of body.results.entries()) {
      console.log(
        `${String(i + 1).padStart(3)} of ${body.results.length} ${r.status.toUpperCase().padEnd(7)} ${r.unique_id} [${r.execution_time.toFixed(2)}s]${r.message ? ` ${r.message}` : ""}`,
      );
    }
    const count = (s: string) => body.results!.filter((r) => r.status === s).length;
    console.log(
      `\nDone. PASS=${count("success") + count("pass")} WARN=${count("warn")} ERROR=${count("error") + count("fail")} SKIP=${count("skipped")} in ${body.elapsed_time?.toFixed(2)}s`,
    );
    process.exit(body.status === "success" ? 0 : 1);
  }

  if (command === "ack" || command === "mute") {
    const id = positionals[1];
    if (!id || (command === "mute" && values.until === undefined))
      throw new Error(`${command} needs an incident id${command === "mute" ? " and --until" : ""}\n\n${usage}`);
    const body = command === "mute" ? JSON.stringify({ until: values.until === "none" ? null : values.until }) : undefined;
    const response = await fetch(new URL(`/v1/incidents/${encodeURIComponent(id)}/${command}`, base), { method: "POST", headers, body });
    console.log(JSON.stringify(await response.json(), null, 2));
    process.exit(response.ok ? 0 : 1);
  }

  const path = reads[command];
  if (!path) {
    console.error(`unknown command "${command}"\n\n${usage}`);
    process.exit(2);
  }
  const response = await fetch(new URL(path, base), { headers });
  console.log(JSON.stringify(await response.json(), null, 2));
  process.exit(response.ok ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(`sluice: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
