/**
 * `/openapi.json` names the configured public URL (or a relative server), never the request's
 * Host, and is one document however many hosts ask for it.
 */

import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app.ts";
import { getConfig } from "../../src/config/index.ts";
import { parseSettings } from "../../src/env.ts";
import { openApiDocument } from "../../src/openapi.ts";
import { call } from "../support/worker.ts";

const fetchDocument = async (host: string, overrides: Partial<Env> = {}) => {
  const response = await call(new Request(`https://${host}/openapi.json`, { headers: { host } }), overrides);
  expect(response.status).toBe(200);
  return response.text();
};

describe("GET /openapi.json: servers", () => {
  it("answers every Host with the same document and a relative server when no public URL is set", async () => {
    const first = await fetchDocument("sluice.example.com");
    const second = await fetchDocument("attacker.example");
    expect(second).toBe(first);
    expect((JSON.parse(first) as { servers: unknown }).servers).toEqual([{ url: "/" }]);
    expect(first).not.toContain("attacker.example");
    expect(first).not.toContain("sluice.example.com");
  });

  it("names SLUICE_PUBLIC_URL, whatever the Host", async () => {
    const overrides = { SLUICE_PUBLIC_URL: "https://sluice.acme.dev" } as Partial<Env>;
    const first = await fetchDocument("one.example", overrides);
    const second = await fetchDocument("two.example", overrides);
    expect(second).toBe(first);
    expect((JSON.parse(first) as { servers: unknown }).servers).toEqual([{ url: "https://sluice.acme.dev" }]);
    expect(first).not.toMatch(/one\.example|two\.example/);
  });

  it("refuses a SLUICE_PUBLIC_URL that is not an http(s) URL", () => {
    for (const url of ["sluice.acme.dev", "javascript:alert(1)"]) {
      expect(() => parseSettings({ ...env, SLUICE_PUBLIC_URL: url } as Env, getConfig())).toThrow(
        "SLUICE_PUBLIC_URL must be an http(s) URL",
      );
    }
    expect(parseSettings({ ...env, SLUICE_PUBLIC_URL: "https://sluice.acme.dev/" } as Env, getConfig()).publicUrl).toBe(
      "https://sluice.acme.dev",
    );
  });

  it("keeps one document per configured URL, not one per caller", () => {
    const config = getConfig();
    expect(openApiDocument(app, config, undefined)).toBe(openApiDocument(app, config, undefined));
  });
});
