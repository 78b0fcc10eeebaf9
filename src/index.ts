/** Sluice's Worker: wiring only. Each entry point parses env once and hands off to its stage. */
import { app } from "./app.ts";
import { createRuntime } from "./env.ts";
import { consumeIngestBatch } from "./load/consumer.ts";
import { consumeDeadLetterBatch, isDeadLetterQueue } from "./load/dead-letters.ts";
import { runScheduled } from "./scheduled.ts";

export default {
  fetch: app.fetch,

  async queue(batch, env) {
    const runtime = createRuntime(env, "queue");
    if (isDeadLetterQueue(batch.queue)) return consumeDeadLetterBatch(batch, runtime);
    return consumeIngestBatch(batch, runtime);
  },

  async scheduled(controller, env) {
    await runScheduled(controller, createRuntime(env, "scheduled"));
  },
} satisfies ExportedHandler<Env, unknown>;
