/**
 * Sluice's side of the load benchmark: the production Worker's own queue handler (src/index.ts),
 * so records go through `consumeIngestBatch` exactly as deployed (parse, raw zone, typing,
 * transforms, schema evolution, quarantine, the conflict check, the ledger and the counters).
 * In: `POST /enqueue?stream=&from=&count=` puts record envelopes on the real `INGEST` queue (see
 * load-records.ts), which workerd delivers to that handler in batches of 100. Out: `GET
 * /progress?stream=` reads the ledger's count of the stream's loaded records. `POST
 * /breakdown?records=&tag=` times each step of the load in this Worker (load-breakdown.ts).
 */
import { createRuntime } from "../src/env.ts";
import sluice from "../src/index.ts";
import { breakdown } from "./load-breakdown.ts";
import { sharedRoute } from "./load-records.ts";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/breakdown") {
      const records = Number(url.searchParams.get("records") ?? 1000);
      try {
        return Response.json(await breakdown(createRuntime(env, "queue"), records, url.searchParams.get("tag") ?? "x"));
      } catch (error) {
        return new Response(error instanceof Error ? `${error.message}\n${error.stack}` : String(error), { status: 500 });
      }
    }
    return (await sharedRoute(url, env)) ?? new Response("not found", { status: 404 });
  },
  queue: sluice.queue,
} satisfies ExportedHandler<Env, unknown>;
