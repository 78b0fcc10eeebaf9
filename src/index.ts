/** Sluice's Worker: wiring only. Each entry point parses env once and hands off to its stage. */
import { app } from "./app.ts";
import { runCronJobs } from "./cron-jobs.ts";
import { createRuntime } from "./env.ts";
import { consumeIngestBatch } from "./load/consumer.ts";
import { consumeDeadLetterBatch, isDeadLetterQueue } from "./load/dead-letters.ts";
import { isModelRunTask, isPageTask } from "./messages.ts";
import { continueModelRuns } from "./models/continue.ts";
import { consumePullMessages } from "./pull/consumer.ts";

export default {
  fetch: app.fetch,

  async queue(batch, env) {
    const runtime = createRuntime(env, "queue");
    if (isDeadLetterQueue(batch.queue)) return consumeDeadLetterBatch(batch, runtime);
    // Local fault injection only: the whole batch fails before any of it is handled.
    runtime.settings.faults?.maybeFail("consumer", "at the start of a batch");
    // Messages are JSON text, parsed one by one (see messages.ts). Page tasks go to the pull
    // stage, model-run continuations to the models stage; everything else (records, replays,
    // commits, and anything unreadable, which the ingest consumer dead-letters) to the load stage.
    const pages = batch.messages.filter(isPageTask);
    const runs = batch.messages.filter(isModelRunTask);
    const rest = batch.messages.filter((message) => !isPageTask(message) && !isModelRunTask(message));
    if (pages.length > 0) rest.push(...(await consumePullMessages(pages, runtime, batch.queue)));
    if (runs.length > 0) rest.push(...(await continueModelRuns(runs, runtime, batch.queue)));
    if (rest.length > 0) await consumeIngestBatch({ queue: batch.queue, messages: rest }, runtime);
  },

  async scheduled(controller, env) {
    await runCronJobs(controller, createRuntime(env, "scheduled"));
  },
} satisfies ExportedHandler<Env, unknown>;
