/**
 * Drives the real Worker inside workerd. `recordingQueue` wraps a real queue binding and keeps
 * a copy of each message sent (parsed back from its text), so a test can assert exactly what was
 * (or was not) enqueued.
 */
import { createExecutionContext, env } from "cloudflare:test";
import worker from "../../src/index.ts";
import { reportToken } from "./fixtures.ts";

/** The Worker as the runtime sees it: every handler takes (input, env, ctx). */
export const handler = worker as ExportedHandler<Env, unknown>;

export interface Sent {
  /** The message as sent, parsed back from its JSON text. */
  body: unknown;
  /** The text sent. */
  text: string;
  contentType: QueueContentType;
}

/** Sluice sends every message as JSON text (see src/messages.ts); anything else fails the test. */
function sentAs(body: unknown, contentType: QueueContentType | undefined): Sent {
  if (contentType !== "text" || typeof body !== "string")
    throw new Error(`queue messages are sent as JSON text, not ${contentType ?? "v8"}`);
  return { body: JSON.parse(body), text: body, contentType };
}

export function recordingQueue(queue: Queue): { queue: Queue; sent: Sent[] } {
  const sent: Sent[] = [];
  const recorder = {
    async send(body: unknown, options?: QueueSendOptions) {
      await queue.send(body, options);
      sent.push(sentAs(body, options?.contentType));
    },
    async sendBatch(messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) {
      const list = [...messages];
      await queue.sendBatch(list, options);
      for (const message of list) sent.push(sentAs(message.body, message.contentType));
    },
  } as unknown as Queue;
  return { queue: recorder, sent };
}

/** Calls the Worker's fetch handler with the test env (or an override of it). */
export async function call(request: Request, overrides: Partial<Env> = {}): Promise<Response> {
  return handler.fetch!(request as Request<unknown, IncomingRequestCfProperties>, { ...env, ...overrides }, createExecutionContext());
}

export const origin = "https://sluice.test";

/** GET `path` from the Worker with a report token. */
export const getWithReportToken = (path: string) =>
  call(new Request(`${origin}${path}`, { headers: { authorization: `Bearer ${reportToken}` } }));

/**
 * The local rate limiter counts in windows aligned to the wall clock (a new one every `period`
 * seconds), so a test that must watch a count reach its limit starts early in a window: it waits
 * for the next window when less than `marginMs` is left of this one.
 */
export async function freshRateWindow(periodSeconds: 10 | 60, marginMs = 3_000): Promise<void> {
  const left = periodSeconds * 1000 - (Date.now() % (periodSeconds * 1000));
  if (left < marginMs) await new Promise((done) => setTimeout(done, left + 50));
}
