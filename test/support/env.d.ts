import type { D1Migration } from "cloudflare:test";

declare global {
  /** Local-only vars that tests set per delivery (fault injection); never in wrangler.toml. */
  interface Env {
    SLUICE_FAULTS?: string;
  }
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      FAKE_API_URL: string;
      /** The Node-side scanner of this run's local D1 files (test/support/d1-files-setup.ts). */
      D1_FILES_URL: string;
      REDIRECTING_API_URL: string;
      OTHER_ORIGIN_API_URL: string;
      TIGHT_WEBHOOK_LIMITER: RateLimit;
      TIGHT_AUTH_FAILURE_LIMITER: RateLimit;
    }
  }
}
