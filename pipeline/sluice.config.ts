/**
 * The example pipeline. Sources say what comes in and how it is authenticated; models live in
 * pipeline/models as dbt-style SQL; reports say which models the HTTP API serves.
 */
import { defineConfig } from "../src/config/schema.ts";

export default defineConfig({
  sources: {
    generic: {
      kind: "webhook",
      description: "Any sender that signs the raw body with HMAC-SHA256",
      secrets: ["GENERIC_WEBHOOK_SECRET"],
      verifier: { kind: "hmac", header: "X-Sluice-Signature", prefix: "sha256=" },
      keyHeader: "X-Sluice-Event-Id",
      streams: { events: { description: "Every event the generic source receives" } },
      defaultStream: "events",
    },
  },
  models: {
    // Also listed under [triggers] in wrangler.toml.
    schedule: "*/15 * * * *",
  },
  reports: {
    events_per_day: {
      description: "Events received per day, with the number of distinct event types",
      model: "events_per_day",
      defaultOrder: [{ column: "day", direction: "desc" }],
      limit: 1000,
    },
  },
});
