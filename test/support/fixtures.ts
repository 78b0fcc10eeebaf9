/**
 * Known secrets for tests. The vitest config binds them into the test Worker and the end-to-end
 * tests pass them to `wrangler dev`, so tests can sign requests and present tokens. Each source
 * has two secrets, to exercise rotation; the second is the one tests sign with by default.
 */
export const secrets = {
  stripe: "whsec_test_stripe_secret",
  github: "test-github-secret",
  shopify: "test-shopify-secret",
  slack: "test-slack-signing-secret",
  standard: "whsec_c2x1aWNlLXRlc3Qtc3RhbmRhcmQtd2ViaG9va3MtazI=",
  generic: "test-generic-secret",
} as const;

export const testSecrets = {
  STRIPE_WEBHOOK_SECRET: `whsec_test_stripe_old,${secrets.stripe}`,
  GITHUB_WEBHOOK_SECRET: `test-github-old,${secrets.github}`,
  SHOPIFY_WEBHOOK_SECRET: `test-shopify-old,${secrets.shopify}`,
  SLACK_SIGNING_SECRET: `test-slack-old,${secrets.slack}`,
  STANDARD_WEBHOOK_SECRET: `whsec_c2x1aWNlLXRlc3Qtc3RhbmRhcmQtd2ViaG9va3MtazE=,${secrets.standard}`,
  GENERIC_WEBHOOK_SECRET: `test-generic-secret-old,${secrets.generic}`,
  REPORT_TOKENS: "test-report-token,test-report-token-next,test-scoped-token@events_per_day",
  ADMIN_TOKENS: "test-admin-token",
  SLUICE_HASH_SALT: "test-hash-salt",
  LOG_LEVEL: "warn",
} as const;

export const genericSecret = secrets.generic;
export const reportToken = "test-report-token";
export const adminToken = "test-admin-token";
