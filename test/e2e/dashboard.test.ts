/**
 * The operations console in a real browser: headless Chromium (Debian's, driven by
 * playwright-core) against a real `wrangler dev`. It signs in, sees every example source and
 * the lineage graph, meets no console errors, and leaves a screenshot in test/artifacts/.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, repoRoot, startDevServer } from "../../scripts/lib/dev-server.ts";
import { chromiumPath } from "../../scripts/lib/system-tools.ts";
import { adminToken, testSecrets } from "../support/fixtures.ts";
import { genericWebhook } from "../support/http.ts";

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
    const browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on("pageerror", (error) => errors.push(error.message));

      await page.goto(`${server.url}/`);
      expect(new URL(page.url()).pathname).toBe("/sign-in");
      await page.fill('input[name="token"]', adminToken);
      await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type="submit"]')]);

      for (const source of ["stripe", "github", "shopify", "slack", "standard", "generic", "github_api", "stripe_api"]) {
        expect(await page.locator(`tr[data-source="${source}"]`).count()).toBeGreaterThan(0);
      }
      expect(await page.locator("#lineage-graph").isVisible()).toBe(true);
      expect(await page.locator('#lineage-graph g[data-node="report:events_per_day"]').count()).toBe(1);

      await Promise.all([page.waitForURL(/\?done=/), page.click('form[action="/ui/build"] button')]);
      expect(await page.locator("#actions .ok").textContent()).toMatch(/^Build run_[0-9a-z]+: success, \d+ nodes$/);

      mkdirSync(join(repoRoot, "test", "artifacts"), { recursive: true });
      await page.screenshot({ path: join(repoRoot, "test", "artifacts", "dashboard.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
