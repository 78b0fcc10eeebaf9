/**
 * Sluice's side of the load benchmark: the production Worker's own queue handler (src/index.ts),
 * so records go through `consumeIngestBatch` exactly as deployed (parse, raw zone, typing,
 * transforms, schema evolution, quarantine, the conflict check, the ledger and the counters).
 * In: `POST /enqueue?stream=&from=&count=` puts record envelopes on the real `INGEST` queue (see
 * load-records.ts), which workerd delivers to that handler in batches of 100. Out: `GET
 * /progress?stream=` reads the ledger's count of the stream's loaded records.
 */
import sluice from "../src/index.ts";
import { sharedRoute } from "./load-records.ts";

export default {
  async fetch(request, env) {
    return (await sharedRoute(new URL(request.url), env)) ?? new Response("not found", { status: 404 });
  },
  queue: sluice.queue,
} satisfies ExportedHandler<Env, unknown>;
