/**
 * A pipeline config made for a test, and a way to run the real consumer with it. Streams are
 * declared on one generic source named `lab`, so each test can shape its own stream.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { parseConfig } from "../../src/config/parse.ts";
import type { SluiceConfigInput } from "../../src/config/schema.ts";
import { createRuntime, type Runtime } from "../../src/env.ts";
import { consumeIngestBatch } from "../../src/load/consumer.ts";
import type { Manifest } from "../../src/models/manifest-schema.ts";
import { type RunSummary, runModels } from "../../src/models/runner.ts";
import { recordMessage } from "./queue.ts";

type Streams = NonNullable<SluiceConfigInput["sources"]>[string]["streams"];

export function labRuntime(streams: Streams, overrides: Partial<Env> = {}, extra: Omit<SluiceConfigInput, "sources"> = {}): Runtime {
  const config = parseConfig({
    ...extra,
    sources: {
      lab: {
        provider: "generic",
        secrets: ["GENERIC_WEBHOOK_SECRET"],
        signature: { header: "x-sig" },
        streams: { ...streams, events: streams.events ?? {} },
        defaultStream: "events",
      },
    },
  });
  return createRuntime({ ...env, ...overrides } as Env, "queue", config);
}

/**
 * Streams declared as the resources of a pull source named `lab`, for what only pulls do: a
 * `replace` stream's full refresh, committed by the run.
 */
export function labPullRuntime(resources: Streams): Runtime {
  const config = parseConfig({
    pulls: {
      lab: {
        kind: "rest",
        baseUrl: "https://api.example.com",
        resources: Object.fromEntries(
          Object.entries(resources).map(([name, spec]) => [
            name,
            { ...spec, path: `/${name}`, paginator: { type: "single_page" }, schedule: "0 * * * *" },
          ]),
        ),
      },
    },
  });
  return createRuntime(env, "queue", config);
}

export type TestMessage = { id: string; timestamp: Date; attempts: number; body: unknown };

export async function consumeWith(runtime: Runtime, messages: TestMessage[], queue = "sluice-ingest") {
  const batch = createMessageBatch(queue, messages);
  const ctx = createExecutionContext();
  await consumeIngestBatch(batch, runtime);
  return getQueueResult(batch, ctx);
}

export async function rows<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]> {
  return (
    await env.DB.prepare(sql)
      .bind(...params)
      .all<T>()
  ).results;
}

/** A record message of the `lab` source's stream, as the webhook intake would queue it. */
export const labRecord = (key: string, payload: unknown, stream: string, receivedAt?: string) =>
  recordMessage(key, payload, { source: "lab", stream, ...(receivedAt ? { receivedAt } : {}) });

/** A manual dbt build of `manifest` on the test's D1, as `POST /v1/models/build` runs it. */
export async function buildManifest(manifest: Manifest | Promise<Manifest>, fullRefresh = false): Promise<RunSummary> {
  return runModels(createRuntime(env, "scheduled"), { trigger: "manual", manifest: await manifest, fullRefresh });
}

/** Runs one statement on the test's D1. */
export const exec = (sql: string) => env.DB.prepare(sql).run();
