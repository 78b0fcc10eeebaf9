/** Delivers message batches to the real Worker's queue handler and reports acks and retries. */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { handler } from "./worker.ts";
import type { RecordMessage } from "../../src/messages.ts";

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

export async function deliver(
  messages: { id: string; timestamp: Date; attempts: number; body: unknown }[],
  options: { queue?: string; env?: Partial<Env> } = {},
) {
  const batch = createMessageBatch(options.queue ?? "sluice-ingest", messages);
  const ctx = createExecutionContext();
  await handler.queue!(batch, { ...env, ...options.env }, ctx);
  return getQueueResult(batch, ctx);
}
