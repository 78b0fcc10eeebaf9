/**
 * The pull benchmark's floor: a Worker consumer doing only what any pull into Sluice must. In: a
 * page task on its own queue (`POST /start` sends the first). Out: each page fetched (the same
 * headers and bearer token, the same request rate as the source's), its records as the same
 * `records` envelopes on Sluice's `INGEST` queue, loaded by Sluice's own ingest consumer, then a
 * one-row checkpoint in D1; a new task on its queue every `hop` pages, as Sluice hops when its
 * budget is spent. No lease, no compare-and-set on a run, no seen URLs, no counters, no
 * prefetch, no config: what Sluice adds beyond this is the ratio the benchmark reports.
 *
 * With `direct=1` the floor loads each page's records itself, in the pull consumer, through
 * Sluice's ingest consumer code, instead of sending them to `INGEST`: the measurement behind the
 * decision whether small pages should skip the queue.
 *
 * `POST /reset` empties the stream's raw table, the pull cursor and the floor's checkpoints, so
 * every round of either side loads the same rows into an empty table.
 */
import { createRuntime } from "../src/env.ts";
import { consumeIngestBatch } from "../src/load/consumer.ts";
import { recordMessagesFor, sendAll } from "../src/messages.ts";
import { linkNext } from "../src/pull/paginate.ts";

interface FloorEnv extends Env {
  FLOOR_PULL: Queue<string>;
}

interface FloorTask {
  run: string;
  page: number;
  url: string;
  hop: number;
  rate: number;
  direct: boolean;
}

const checkpoints = "bench_pull_floor_checkpoints";

async function pages(task: FloorTask, env: FloorEnv): Promise<void> {
  let { page, url } = task;
  let last = 0;
  for (let inTask = 0; ; inTask++) {
    if (inTask === task.hop) {
      await env.FLOOR_PULL.send(JSON.stringify({ ...task, page, url }), { contentType: "text" });
      return;
    }
    // The source's request rate, kept as Sluice keeps it.
    const wait = last + 1000 / task.rate - Date.now();
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    last = Date.now();
    const response = await fetch(url, {
      headers: { accept: "application/json", "user-agent": "sluice", authorization: "Bearer fake-token" },
    });
    const issues = (await response.json()) as { id: number; updated_at: string }[];
    const records = issues.map((issue) => ({ key: `${issue.id}@${issue.updated_at}`, payload: issue }));
    const base = { source: "github_api", stream: "issues", receivedAt: new Date().toISOString(), deliveryId: `${task.run}_p${page}` };
    const messages = await recordMessagesFor(env.RAW, base, records);
    if (task.direct) await loadHere(env, messages);
    else await sendAll(env.INGEST, messages);
    const next = linkNext(response.headers.get("link"));
    await env.DB.prepare(`INSERT INTO ${checkpoints} (run, page, url, done) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT (run) DO UPDATE SET page = excluded.page, url = excluded.url, done = excluded.done`)
      .bind(task.run, page, next ?? null, next ? 0 : 1)
      .run();
    if (!next) return;
    page += 1;
    url = next;
  }
}

/** The page's records loaded in this invocation by Sluice's ingest consumer, as one batch. */
async function loadHere(env: FloorEnv, bodies: unknown[]): Promise<void> {
  const messages = bodies.map((body, i) => ({
    id: `direct-${i}`,
    timestamp: new Date(),
    attempts: 1,
    body: JSON.stringify(body),
    ack() {},
    retry() {},
  }));
  await consumeIngestBatch({ queue: "sluice-ingest", messages } as unknown as MessageBatch<unknown>, createRuntime(env, "queue"));
}

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/ready") return new Response("ok");
    // The raw table is Sluice's to create (its loader owns its columns and indexes); until then it has no rows.
    const rawTable = await env.DB.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'raw_github_api__issues'").first();
    if (url.pathname === "/reset") {
      await env.DB.batch([
        env.DB.prepare(`CREATE TABLE IF NOT EXISTS ${checkpoints} (run TEXT PRIMARY KEY, page INTEGER, url TEXT, done INTEGER)`),
        env.DB.prepare(`DELETE FROM ${checkpoints}`),
        env.DB.prepare("DELETE FROM _sluice_pull_state"),
        ...(rawTable ? [env.DB.prepare("DELETE FROM raw_github_api__issues")] : []),
      ]);
      return new Response("ok");
    }
    if (url.pathname === "/rows") {
      const row = rawTable ? await env.DB.prepare("SELECT count(*) AS n FROM raw_github_api__issues").first<{ n: number }>() : null;
      return Response.json({ rows: row?.n ?? 0 });
    }
    if (url.pathname === "/start") {
      const task: FloorTask = {
        run: url.searchParams.get("run") ?? "floor",
        page: 1,
        url: url.searchParams.get("url") ?? "",
        hop: Number(url.searchParams.get("hop") ?? 100),
        rate: Number(url.searchParams.get("rate") ?? 10),
        direct: url.searchParams.get("direct") === "1",
      };
      await env.FLOOR_PULL.send(JSON.stringify(task), { contentType: "text" });
      return new Response(null, { status: 202 });
    }
    return new Response("not found", { status: 404 });
  },

  async queue(batch: MessageBatch<string>, env: FloorEnv): Promise<void> {
    for (const message of batch.messages) {
      await pages(JSON.parse(message.body) as FloorTask, env);
      message.ack();
    }
  },
} satisfies ExportedHandler<FloorEnv, string>;
