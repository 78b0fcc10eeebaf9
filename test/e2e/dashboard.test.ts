/**
 * The operations console in a real browser: headless Chromium (Debian's, driven by
 * playwright-core) against a real `wrangler dev`. It signs in, sees every example source, a
 * monitor chart per stream and the lineage graph, meets no console errors, and leaves a screenshot in test/artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../scripts/lib/dev-server.ts";
import { testSecrets } from "../support/fixtures.ts";
import { genericWebhook } from "../support/http.ts";
import { artifactPath, launchChromium, signInAt, watchedPage } from "./browser.ts";

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ vars: { ...testSecrets } });
});

afterAll(async () => {
  await server?.stop();
});

describe("the dashboard in Chromium", () => {
  it("signs in, shows every source and the lineage graph, with no console errors", async () => {
    await fetch(await genericWebhook(server.url, { body: JSON.stringify({ type: "browser" }), eventId: "browser-1" }));
    const browser = await launchChromium();
    try {
      const { page, errors } = await watchedPage(browser);
      await signInAt(page, server.url);

      for (const source of ["stripe", "github", "shopify", "slack", "standard", "generic", "github_api", "stripe_api"]) {
        expect(await page.locator(`tr[data-source="${source}"]`).count()).toBeGreaterThan(0);
      }
      expect(await page.locator("#lineage-graph").isVisible()).toBe(true);
      expect(await page.locator('#lineage-graph g[data-node="report:events_per_day"]').count()).toBe(1);
      // A monitor chart per stream, each "not judged yet" on a fresh pipeline.
      const cards = await page.locator("#monitors article.card").count();
      expect(cards).toBeGreaterThan(8);
      expect(await page.locator('#monitors svg.monitor-chart[data-empty="true"]').count()).toBe(cards);

      await Promise.all([page.waitForURL(/\?done=/), page.click('form[action="/ui/build"] button')]);
      expect(await page.locator("#actions .ok").textContent()).toMatch(/^Build run_[0-9a-z]+: success, \d+ nodes$/);

      await page.screenshot({ path: artifactPath("dashboard.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
