/**
 * `npm run bench -- models`: a generated project of 10 models (staging views, tables, one
 * incremental) over a 1,000,000-row `orders` source, in workerd. In one run it measures a full
 * build through Sluice's engine, the same compiled SQL run directly against the same D1 (the
 * baseline), and an incremental run after adding 1% new rows, against that model's full build.
 * The source table is built with the DDL and indexes of a real raw table (see models-worker.ts).
 */
import { startDevServer } from "../scripts/lib/dev-server.ts";

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

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
    // Engine and direct alternate (ABAB, BENCH_ROUNDS times, 3 by default); the medians are reported.
    const engineRuns: { ms: number; incrementalModelMs?: number }[] = [];
    const directRuns: { ms: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      engineRuns.push(await post("/engine"));
      directRuns.push(await post("/direct"));
    }
    const engine = median(engineRuns.map((r) => r.ms));
    const directMs = median(directRuns.map((r) => r.ms));
    const fullModel = median(engineRuns.map((r) => r.incrementalModelMs!));
    // Each incremental run takes the 1% of rows loaded since the previous one.
    const incrementalRuns: { ms: number; rows?: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      await post("/grow");
      incrementalRuns.push(await post("/incremental"));
    }
    const incremental = { ms: median(incrementalRuns.map((r) => r.ms)), rows: incrementalRuns[0]!.rows };

    const overhead = Number((engine / directMs).toFixed(2));
    const incrementalRatio = Number((incremental.ms / fullModel).toFixed(3));
    console.log(`full build through the engine: ${engine} ms (${rows} source rows, 10 models)`);
    console.log(`same SQL run directly:          ${directMs} ms`);
    console.log(
      `rounds: engine ${engineRuns.map((r) => r.ms).join(", ")} ms; direct ${directRuns.map((r) => r.ms).join(", ")} ms; incremental ${incrementalRuns.map((r) => r.ms).join(", ")} ms`,
    );
    console.log(`incremental model: full ${fullModel} ms, after +1% rows ${incremental.ms} ms (${incremental.rows} rows merged)`);
    console.log(`overhead ratio ${overhead} (target ≤ 1.10), incremental ratio ${incrementalRatio} (target ≤ 0.05)`);
    console.log(
      JSON.stringify({
        bench: "models",
        overhead_ratio: overhead,
        incremental_ratio: incrementalRatio,
        engine_ms: engine,
        incremental_ms: incremental.ms,
        full_model_ms: fullModel,
        direct_ms: directMs,
        rows,
      }),
    );
  } finally {
    await server.stop();
  }
}
