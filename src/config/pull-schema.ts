/**
 * REST pull sources: a declarative connector after dlt's `rest_api` and Airbyte's low-code
 * connectors. A source names its client (base URL, headers, auth, limits); each resource is a
 * stream with a path, a data selector, a paginator, an optional incremental cursor and a cron.
 */
import { z } from "zod";
import { cronSchema } from "../lib/cron.ts";
import { streamSchema } from "./stream-schema.ts";

const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "env var names are UPPER_SNAKE_CASE");
const path = z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$|^$/, "use a dot path such as data or meta.next");
const paramValue = z.union([z.string(), z.number(), z.boolean()]);

export const authSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("bearer"), token: envName }),
  z.object({ type: z.literal("api_key"), name: z.string().min(1), in: z.enum(["header", "query"]).default("header"), key: envName }),
  z.object({ type: z.literal("basic"), username: envName, password: envName }),
  z.object({
    type: z.literal("oauth2_client_credentials"),
    tokenUrl: z.url(),
    clientId: envName,
    clientSecret: envName,
    scope: z.string().optional(),
  }),
]);

export const paginatorSchema = z.discriminatedUnion("type", [
  /** RFC 8288 `Link: <…>; rel="next"`, as GitHub sends. */
  z.object({ type: z.literal("header_link") }),
  /** A next URL in the body, e.g. `next` or `links.next`. */
  z.object({ type: z.literal("json_link"), nextPath: path }),
  /** Stripe's `has_more` plus `starting_after=<last id>`, or a cursor token in the body. */
  z
    .object({
      type: z.literal("cursor"),
      param: z.string().min(1),
      /** The next cursor, read from the body... */
      cursorPath: path.optional(),
      /** ...or from this field of the page's last record. */
      recordField: path.optional(),
      hasMorePath: path.optional(),
    })
    .refine((p) => Boolean(p.cursorPath) !== Boolean(p.recordField), "give one of cursorPath or recordField"),
  z.object({
    type: z.literal("offset"),
    limit: z.number().int().positive(),
    limitParam: z.string().default("limit"),
    offsetParam: z.string().default("offset"),
    totalPath: path.optional(),
  }),
  z.object({
    type: z.literal("page_number"),
    pageParam: z.string().default("page"),
    basePage: z.number().int().min(0).default(1),
    totalPagesPath: path.optional(),
  }),
  z.object({ type: z.literal("single_page") }),
]);

export const incrementalSchema = z.object({
  /** Dot path of the cursor field in each record, e.g. `updated_at`. */
  cursorField: path,
  initialValue: z.string(),
  /** The query param that sends the cursor (GitHub's `since`), or a `{placeholder}` in the path. */
  param: z.string().min(1),
  /** Re-fetch this far behind the stored cursor, for late updates; ISO timestamps only. */
  lookbackSeconds: z.number().int().min(0).default(0),
  /** For backfills: stop at this cursor value (sent as `endParam` when given). */
  endValue: z.string().optional(),
  endParam: z.string().optional(),
});

export const resourceSchema = streamSchema
  .and(
    z.object({
      path: z.string().startsWith("/"),
      params: z.record(z.string(), paramValue).default({}),
      /** Dot path to the records in the body; empty when the body is the array. */
      dataSelector: path.default(""),
      paginator: paginatorSchema,
      incremental: incrementalSchema.optional(),
      schedule: cronSchema,
    }),
  )
  .superRefine((resource, ctx) => {
    // Sluice keeps the cursor value in D1 (`_sluice_pull_state`) to send back to the API, and
    // compares it as it came: a field the stream redacts or hashes cannot be the cursor.
    const cursor = resource.incremental?.cursorField;
    const protectedPaths = [...resource.redact, ...resource.hash].map((field) => field.replace(/^\$\./, ""));
    if (cursor !== undefined && protectedPaths.includes(cursor.replace(/^\$\./, ""))) {
      ctx.addIssue({
        code: "custom",
        path: ["incremental", "cursorField"],
        message: `the cursor field ${cursor} is also in redact or hash: Sluice stores the cursor in clear to resume from it`,
      });
    }
  });

export const restSourceSchema = z.object({
  kind: z.literal("rest"),
  description: z.string().optional(),
  /** The API's base URL, or the var that holds it (so tests can point it at a local server). */
  baseUrl: z.union([z.url(), z.object({ var: envName, default: z.url().optional() })]),
  headers: z.record(z.string(), z.string()).default({}),
  /** Values for `{placeholders}` in resource paths, taken from vars: `{ owner_repo: "GITHUB_REPO" }`. */
  pathVars: z.record(z.string(), envName).default({}),
  auth: authSchema.optional(),
  limits: z
    .object({
      /** Requests per second to this API, across all its streams. */
      requestsPerSecond: z.number().positive().default(10),
      maxPagesPerRun: z.number().int().positive().default(1000),
      /** Failed fetches of one page (5xx, network) before the run fails. */
      maxRetries: z.number().int().min(0).max(50).default(5),
    })
    .prefault({}),
  /**
   * What one page task may spend before it hands the rest of the run to a new task on `PULL`
   * (src/pull/budget.ts). The defaults fit the Workers Paid plan with room to spare; on the Free
   * plan (50 subrequests and 10 ms of CPU an invocation) set `{ subrequests: 50, cpuMs: 10 }`.
   */
  budget: z
    .object({
      /** Subrequests: each fetch (and each redirect followed), queue send, R2 put and D1 call counts as one. */
      subrequests: z.number().int().min(10).max(10_000).default(1000),
      /** CPU milliseconds, estimated (Workers has no CPU clock): the larger of the measured busy time and 40 ms a MB of page. */
      cpuMs: z.number().positive().max(300_000).default(15_000),
      /** Wall-clock seconds; a queue consumer may run 15 minutes. */
      wallSeconds: z.number().positive().max(840).default(120),
    })
    .prefault({}),
  resources: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/), resourceSchema),
});

export type RestSource = z.output<typeof restSourceSchema>;
export type Resource = z.output<typeof resourceSchema>;
export type Paginator = z.output<typeof paginatorSchema>;
export type Auth = z.output<typeof authSchema>;
