/**
 * Starts pull runs: on a cron, every resource whose schedule it is; on request, one resource.
 * A run starts only if it can take the stream's lease, so a cron that fires during a run starts
 * no second one. The first page task goes to `PULL`.
 */
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { type PageMessage, sendMessage } from "../messages.ts";
import { firstPage } from "./paginate.ts";
import { resourceUrl, sinceValue } from "./request.ts";
import { committedCursor, type StartOutcome, startRun } from "./runs.ts";

export function dueResources(runtime: Runtime, cron: string): { source: string; stream: string }[] {
  return Object.entries(runtime.config.pulls).flatMap(([source, config]) =>
    Object.entries(config.resources)
      .filter(([, resource]) => resource.schedule === cron)
      .map(([stream]) => ({ source, stream })),
  );
}

export async function startPull(runtime: Runtime, source: string, stream: string, trigger: "cron" | "manual"): Promise<StartOutcome> {
  const config = Object.hasOwn(runtime.config.pulls, source) ? runtime.config.pulls[source] : undefined;
  const resource = config && Object.hasOwn(config.resources, stream) ? config.resources[stream] : undefined;
  if (!config || !resource) throw new SluiceError("not_found", `no pull resource ${source}/${stream}`);

  const outcome = await startRun(runtime.env.DB, { source, stream }, trigger, async (runId) => {
    const since = sinceValue(resource, await committedCursor(runtime.env.DB, source, stream));
    const first = firstPage(resource.paginator, resourceUrl(config, resource, runtime.settings, since));
    const task: PageMessage = {
      v: 1,
      kind: "page",
      source,
      stream,
      runId,
      page: 1,
      url: first.url,
      offset: first.offset,
      pageNumber: first.pageNumber,
    };
    return { task, since };
  });
  if (outcome.started) {
    await sendMessage(runtime.env.PULL, outcome.run.nextPage);
    runtime.log.info("pull.started", {
      source,
      stream,
      runId: outcome.run.runId,
      trigger: outcome.run.trigger,
      page: (outcome.run.nextPage as PageMessage).page,
      resumedFrom: outcome.resumedFrom,
    });
  } else {
    runtime.log.info("pull.skipped", { source, stream, reason: outcome.reason, activeRun: outcome.runId });
  }
  return outcome;
}
