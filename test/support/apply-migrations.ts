import { applyD1Migrations, env } from "cloudflare:test";

// Sluice's own tables, from the same migrations wrangler applies. Idempotent across files.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
