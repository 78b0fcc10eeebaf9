/**
 * `npm run bench -- models`: a generated project of 10 models (staging views, tables, one
 * incremental) over a 1,000,000-row `orders` source, in workerd. In one run it measures a full
 * build through Sluice's engine, the same compiled SQL run directly against the same D1 (the
 * baseline), and an incremental run after adding 1% new rows, against that model's full build.
 * The source table is built with the DDL and indexes of a real raw table (see models-worker.ts).
 */
import { startDevServer } from "../scripts/lib/dev-server.ts";

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);

export async function main(): Promise<void> {
  const server = await startDevServer({
    vars: { LOG_LEVEL: "warn" },
    configPath: "bench/wrangler.models.toml",
    readyPath: "/ready",
    timeoutMs: 120_000,
  });
  const post = async (path: string) => {
    const response = await fetch(`${server.url}${path}`, { method: "POST" });
    const body = (await response.json()) as { ms: number; incrementalModelMs?: number; rows?: number; error?: unknown };
    if (!response.ok) throw new Error(`${path} failed: ${JSON.stringify(body.error)}\n${server.output().slice(-2000)}`);
    return body;
  };
  try {
    await post(`/seed?rows=${rows}`);
    // Alternate so both see a warm cache; take the better of two of each.
    const engineRuns = [await post("/engine")];
    const directRuns = [await post("/direct")];
    engineRuns.push(await post("/engine"));
    directRuns.push(await post("/direct"));
    const engine = Math.min(...engineRuns.map((r) => r.ms));
    const directMs = Math.min(...directRuns.map((r) => r.ms));
    const fullModel = Math.min(...engineRuns.map((r) => r.incrementalModelMs!));
    await post("/grow");
    const incremental = await post("/incremental");

    const overhead = Number((engine / directMs).toFixed(2));
    const incrementalRatio = Number((incremental.ms / fullModel).toFixed(3));
    console.log(`full build through the engine: ${engine} ms (${rows} source rows, 10 models)`);
    console.log(`same SQL run directly:          ${directMs} ms`);
    console.log(`incremental model: full ${fullModel} ms, after +1% rows ${incremental.ms} ms (${incremental.rows} rows merged)`);
    console.log(`overhead ratio ${overhead} (target ≤ 1.10), incremental ratio ${incrementalRatio} (target ≤ 0.05)`);
    console.log(
      JSON.stringify({
        bench: "models",
        overhead_ratio: overhead,
        incremental_ratio: incrementalRatio,
        engine_ms: engine,
        direct_ms: directMs,
        rows,
      }),
    );
  } finally {
    await server.stop();
  }
}
