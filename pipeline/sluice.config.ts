/**
 * The example pipeline. Sources say what comes in, how it is authenticated and which stream
 * each event lands in; models live in pipeline/models as dbt-style SQL; reports say which models
 * the HTTP API serves. Each source's secrets are env vars (comma-separated lists, for rotation).
 */
import { z } from "zod";
import { defineConfig } from "../src/config/schema.ts";

/** A Stripe event whose `data.object` has the given fields (and any others). */
const stripeEvent = (object: z.ZodRawShape) =>
  z.looseObject({
    id: z.string(),
    type: z.string().optional(),
    created: z.number().int().optional(),
    data: z.looseObject({ object: z.looseObject(object) }),
  });

export default defineConfig({
  sources: {
    stripe: {
      provider: "stripe",
      description: "Stripe events; streams by the type of data.object",
      secrets: ["STRIPE_WEBHOOK_SECRET"],
      streams: {
        // The fields the models read are declared, so their columns exist before the first event.
        charges: {
          match: ["charge"],
          schema: stripeEvent({
            id: z.string(),
            amount: z.number().int().optional(),
            currency: z.string().optional(),
            status: z.string().optional(),
            customer: z.string().nullable().optional(),
          }),
        },
        customers: {
          match: ["customer"],
          schema: stripeEvent({ id: z.string(), email: z.string().nullable().optional(), name: z.string().nullable().optional() }),
        },
        invoices: { match: ["invoice"] },
        payment_intents: { match: ["payment_intent"] },
        subscriptions: { match: ["subscription"] },
        events: { description: "Every other Stripe event" },
      },
      defaultStream: "events",
    },
    github: {
      provider: "github",
      description: "GitHub repository and organisation webhooks; streams by X-GitHub-Event",
      secrets: ["GITHUB_WEBHOOK_SECRET"],
      streams: {
        pushes: { match: ["push"] },
        pull_requests: { match: ["pull_request", "pull_request_review*"] },
        issues: { match: ["issues", "issue_comment"] },
        events: { description: "Every other GitHub event" },
      },
      defaultStream: "events",
    },
    shopify: {
      provider: "shopify",
      description: "Shopify app webhooks; streams by topic",
      secrets: ["SHOPIFY_WEBHOOK_SECRET"],
      streams: {
        orders: { match: ["orders/*"] },
        products: { match: ["products/*"] },
        customers: { match: ["customers/*"] },
        events: { description: "Every other Shopify topic" },
      },
      defaultStream: "events",
    },
    slack: {
      provider: "slack",
      description: "Slack Events API; streams by event type",
      secrets: ["SLACK_SIGNING_SECRET"],
      streams: {
        messages: { match: ["message"] },
        reactions: { match: ["reaction_added", "reaction_removed"] },
        events: { description: "Every other Slack event" },
      },
      defaultStream: "events",
    },
    standard: {
      provider: "standard",
      description: "Any Standard Webhooks (Svix) sender; one stream",
      secrets: ["STANDARD_WEBHOOK_SECRET"],
      streams: { events: {} },
      defaultStream: "events",
    },
    generic: {
      provider: "generic",
      description: "Any sender that signs the raw body with HMAC-SHA256",
      secrets: ["GENERIC_WEBHOOK_SECRET"],
      signature: { header: "X-Sluice-Signature", prefix: "sha256=", algorithm: "sha256", encoding: "hex" },
      keyHeader: "X-Sluice-Event-Id",
      streams: {
        events: {
          description: "Every event the generic source receives; `type` is declared, other fields are inferred",
          schema: z.looseObject({ type: z.string().optional() }),
        },
      },
      defaultStream: "events",
    },
  },
  pulls: {
    // GitHub issues, pulled hourly: Link-header pages, `since` for increments, merged by id so an
    // edited issue updates its row in place.
    github_api: {
      kind: "rest",
      description: "GitHub REST API",
      baseUrl: { var: "GITHUB_API_URL", default: "https://api.github.com" },
      headers: { accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28" },
      pathVars: { repo: "GITHUB_REPO" },
      auth: { type: "bearer", token: "GITHUB_TOKEN" },
      limits: { requestsPerSecond: 10, maxPagesPerRun: 500 },
      resources: {
        issues: {
          path: "/repos/{repo}/issues",
          params: { state: "all", per_page: 100, sort: "updated", direction: "asc" },
          paginator: { type: "header_link" },
          incremental: { cursorField: "updated_at", initialValue: "2020-01-01T00:00:00Z", param: "since", lookbackSeconds: 300 },
          schema: z.looseObject({
            id: z.number().int(),
            number: z.number().int(),
            title: z.string(),
            state: z.string(),
            updated_at: z.iso.datetime(),
          }),
          disposition: "merge",
          primaryKey: ["id"],
          cursor: "updated_at",
          schedule: "0 * * * *",
        },
      },
    },
    // Stripe customers: cursor pages with `has_more` and `starting_after=<last id>`.
    stripe_api: {
      kind: "rest",
      description: "Stripe REST API",
      baseUrl: { var: "STRIPE_API_URL", default: "https://api.stripe.com" },
      auth: { type: "bearer", token: "STRIPE_API_KEY" },
      limits: { requestsPerSecond: 20 },
      resources: {
        customers: {
          path: "/v1/customers",
          params: { limit: 100 },
          dataSelector: "data",
          paginator: { type: "cursor", param: "starting_after", recordField: "id", hasMorePath: "has_more" },
          disposition: "merge",
          primaryKey: ["id"],
          schedule: "0 * * * *",
        },
      },
    },
  },
  // Browser apps on these origins may call the reporting API.
  cors: { origins: ["http://localhost:3000"] },
  // Every schedule is also listed under [triggers] in wrangler.toml.
  models: { schedule: "*/15 * * * *" },
  lake: { schedule: "30 * * * *" },
  reports: {
    daily_revenue: {
      description: "Succeeded Stripe charges per day and currency",
      model: "daily_revenue",
      params: {
        from: { schema: z.iso.date().optional(), column: "day", op: ">=", description: "First day (YYYY-MM-DD)" },
        to: { schema: z.iso.date().optional(), column: "day", op: "<=", description: "Last day (YYYY-MM-DD)" },
        min_revenue: { schema: z.number().min(0).max(1e12).optional(), column: "revenue", op: ">=" },
      },
      // The models write currency codes in capitals, as ISO 4217 does (Stripe sends them in
      // lowercase), so usd and USD both read as USD; anything that is not a currency code is a
      // 400, not an empty page.
      filters: {
        currency: z
          .string()
          .regex(/^[A-Za-z]{3}$/, "a three-letter ISO currency code, such as usd")
          .toUpperCase(),
      },
      sort: ["day", "revenue", "charges"],
      key: ["day", "currency"],
      defaultOrder: [{ column: "day", direction: "desc" }],
    },
    open_issues: {
      description: "Open GitHub issues, most recently updated first",
      model: "open_issues",
      params: { since: { schema: z.iso.datetime().optional(), column: "updated_at", op: ">=" } },
      sort: ["updated_at", "number"],
      key: ["issue_id"],
      defaultOrder: [{ column: "updated_at", direction: "desc" }],
    },
    events_per_day: {
      description: "Events received per day, with the number of distinct event types",
      model: "events_per_day",
      params: {
        from: { schema: z.iso.date().optional(), column: "day", op: ">=" },
        to: { schema: z.iso.date().optional(), column: "day", op: "<=" },
        min_events: { schema: z.int().min(0).max(1_000_000_000).optional(), column: "events", op: ">=" },
      },
      sort: ["day", "events"],
      key: ["day"],
      defaultOrder: [{ column: "day", direction: "desc" }],
      limit: 1000,
    },
  },
});
