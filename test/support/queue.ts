/** Delivers message batches to the real Worker's queue handler and reports acks and retries. */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import type { RecordMessage } from "../../src/messages.ts";
import { handler } from "./worker.ts";

let sequence = 0;

export function recordMessage(
  key: string,
  payload: unknown,
  overrides: Partial<RecordMessage> = {},
  attempts = 1,
): { id: string; timestamp: Date; attempts: number; body: unknown } {
  sequence += 1;
  const body: RecordMessage = {
    v: 1,
    kind: "record",
    source: "generic",
    stream: "events",
    key,
    receivedAt: new Date().toISOString(),
    deliveryId: `req_test_${sequence}`,
    payload,
    ...overrides,
  };
  return { id: `msg-${sequence}`, timestamp: new Date(), attempts, body };
}

/**
 * Delivers `messages` as the queue would: bodies as JSON text, as Sluice sends them (a string body
 * is delivered as it is). `contentType: "json"` delivers them as objects instead, as messages sent
 * before Sluice sent text arrive.
 */
export async function deliver(
  messages: { id: string; timestamp: Date; attempts: number; body: unknown }[],
  options: { queue?: string; env?: Partial<Env>; contentType?: "text" | "json" } = {},
) {
  const asText = (body: unknown) => (typeof body === "string" ? body : JSON.stringify(body));
  const delivered = options.contentType === "json" ? messages : messages.map((message) => ({ ...message, body: asText(message.body) }));
  const batch = createMessageBatch(options.queue ?? "sluice-ingest", delivered);
  const ctx = createExecutionContext();
  await handler.queue!(batch, { ...env, ...options.env }, ctx);
  return getQueueResult(batch, ctx);
}
