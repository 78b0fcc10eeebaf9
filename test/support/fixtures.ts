/**
 * Known secrets for tests. The vitest config binds them into the test Worker and the end-to-end
 * tests pass them to `wrangler dev`, so tests can sign requests and present tokens.
 */
export const testSecrets = {
  GENERIC_WEBHOOK_SECRET: "test-generic-secret-old,test-generic-secret",
  REPORT_TOKENS: "test-report-token,test-report-token-next",
  ADMIN_TOKENS: "test-admin-token",
  LOG_LEVEL: "warn",
} as const;

export const genericSecret = "test-generic-secret";
export const reportToken = "test-report-token";
export const adminToken = "test-admin-token";
