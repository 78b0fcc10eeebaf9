/**
 * Headless Chromium for the console's browser tests: Debian's build driven by playwright-core, a
 * page that records every console error and uncaught exception, and signing in as an operator does.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { repoRoot } from "../../scripts/lib/dev-server.ts";
import { chromiumPath } from "../../scripts/lib/system-tools.ts";
import { adminToken } from "../support/fixtures.ts";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/** A new page, and the console errors and uncaught exceptions it meets. */
export async function watchedPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return { page, errors };
}

/** Opens the console, is sent to sign in, signs in with the admin token and lands on the console's start page. */
export async function signInAt(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  expect(new URL(page.url()).pathname).toBe("/sign-in");
  await page.fill('input[name="token"]', adminToken);
  await Promise.all([page.waitForURL(`${baseUrl}/`), page.click('button[type="submit"]')]);
}

/** Where screenshots go: test/artifacts/, which git ignores. */
export function artifactPath(name: string): string {
  const folder = join(repoRoot, "test", "artifacts");
  mkdirSync(folder, { recursive: true });
  return join(folder, name);
}
