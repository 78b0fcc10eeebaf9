/**
 * Runs pull runs to the end inside a test: page tasks and records are captured from the PULL and
 * INGEST bindings and fed, in turn, to the real page handler and the real ingest consumer, with
 * D1 and R2 real. Retries are replayed at once, with their attempt count, and the delays the
 * handler asked for are kept for the test to check.
 */
import { createMessageBatch, env } from "cloudflare:test";
import { parseConfig } from "../../src/config/parse.ts";
import type { SluiceConfigInput } from "../../src/config/schema.ts";
import { createRuntime, type Runtime } from "../../src/env.ts";
import { consumeIngestBatch } from "../../src/load/consumer.ts";
import type { PageMessage } from "../../src/messages.ts";
import { handlePage } from "../../src/pull/page.ts";

/**
 * Keeps what is sent, parsed back from its JSON text; anything not sent as text is refused. A
 * message sent with a delay has the delay kept in `delays` (the queue would hold it that long).
 */
export class CapturedQueue {
  readonly pending: unknown[] = [];
  readonly delays: number[];
  constructor(delays: number[] = []) {
    this.delays = delays;
  }
  async send(body: unknown, options?: QueueSendOptions) {
    if (options?.delaySeconds !== undefined) this.delays.push(options.delaySeconds);
    this.pending.push(CapturedQueue.decode(body, options?.contentType));
  }
  async sendBatch(messages: Iterable<{ body: unknown; contentType?: QueueContentType }>) {
    for (const message of messages) this.pending.push(CapturedQueue.decode(message.body, message.contentType));
  }
  private static decode(body: unknown, contentType: QueueContentType | undefined): unknown {
    if (contentType !== "text" || typeof body !== "string")
      throw new Error(`queue messages are sent as JSON text, not ${contentType ?? "v8"}`);
    return JSON.parse(body);
  }
  take(): unknown[] {
    return this.pending.splice(0, this.pending.length);
  }
}

export interface Pumped {
  runtime: Runtime;
  /** The ingest consumer's runtime: the page handler's, without the bindings `wrap` changed. */
  loader: Runtime;
  pull: CapturedQueue;
  ingest: CapturedQueue;
  delays: number[];
  pages: PageMessage[];
}

/** `wrap` changes the page handler's bindings (to inject faults), not the ingest consumer's. */
export function pullRuntime(pulls?: SluiceConfigInput["pulls"], wrap?: (bindings: Env) => Env): Pumped {
  const delays: number[] = [];
  const pull = new CapturedQueue(delays);
  const ingest = new CapturedQueue();
  const bindings = { ...env, PULL: pull as unknown as Queue, INGEST: ingest as unknown as Queue };
  const make = (b: Env) => (pulls ? createRuntime(b, "queue", parseConfig({ pulls })) : createRuntime(b, "queue"));
  const loader = make(bindings);
  return { runtime: wrap ? make(wrap(bindings)) : loader, loader, pull, ingest, delays, pages: [] };
}

let sequence = 0;

/**
 * Processes queued work until none is left, or `maxSteps` page attempts have run. Attempts are
 * counted per message, as the queue counts them: a task sent anew starts again at 1. With
 * `redeliverOnThrow`, a task whose handler throws is delivered again, as the queue would retry it.
 */
export async function pump(p: Pumped, options: { maxSteps?: number; redeliverOnThrow?: boolean } = {}): Promise<void> {
  const attempts = new Map<PageMessage, number>();
  let steps = 0;
  while (p.pull.pending.length > 0 || p.ingest.pending.length > 0) {
    for (const task of p.pull.take() as PageMessage[]) {
      if (steps++ >= (options.maxSteps ?? 1000)) return;
      const attempt = (attempts.get(task) ?? 0) + 1;
      attempts.set(task, attempt);
      p.pages.push(task);
      let outcome: Awaited<ReturnType<typeof handlePage>>;
      try {
        outcome = await handlePage(p.runtime, task, attempt);
      } catch (error) {
        if (!options.redeliverOnThrow) throw error;
        p.pull.pending.push(task);
        continue;
      }
      if (!outcome.ack) {
        p.delays.push(outcome.delaySeconds);
        p.pull.pending.push(task);
      }
    }
    const records = p.ingest.take();
    if (records.length > 0) {
      const batch = createMessageBatch(
        "sluice-ingest",
        // As the queue delivers them: JSON text, parsed by the consumer.
        records.map((body) => ({ id: `pump-${++sequence}`, timestamp: new Date(), attempts: 1, body: JSON.stringify(body) })),
      );
      await consumeIngestBatch(batch, p.loader);
    }
  }
}

export async function fakeApi(path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${env.FAKE_API_URL}${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  return response.json();
}
