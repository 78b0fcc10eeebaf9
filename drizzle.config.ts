import { defineConfig } from "drizzle-kit";

// Sluice's own tables. `npm run db:generate` writes SQL migrations that wrangler applies.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
