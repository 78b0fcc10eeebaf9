/** `GET /v1/sources`: every webhook and pull source with its streams, tables and health. */
import { describe, expect, it } from "vitest";
import { adminToken, reportToken } from "../support/fixtures.ts";
import { deliver, recordMessage } from "../support/queue.ts";
import { call, origin } from "../support/worker.ts";

const get = (token: string) => call(new Request(`${origin}/v1/sources`, { headers: { authorization: `Bearer ${token}` } }));

interface Source {
  name: string;
  kind: string;
  provider: string;
  endpoint: string;
  secrets_configured: boolean;
  streams: {
    name: string;
    table: string;
    typing: string;
    disposition: string;
    loaded: number;
    accepted: number;
    match?: string[];
    schedule?: string;
  }[];
}

describe("GET /v1/sources", () => {
  it("lists every webhook and pull source, with each stream's table, typing, disposition and counts", async () => {
    await deliver([recordMessage("sources-1", { type: "s" }), recordMessage("sources-2", { type: "s" })]);
    const response = await get(adminToken);
    expect(response.status).toBe(200);
    const { sources } = (await response.json()) as { sources: Source[] };
    expect(sources.map((s) => `${s.kind}:${s.name}`)).toEqual([
      "webhook:stripe",
      "webhook:github",
      "webhook:shopify",
      "webhook:slack",
      "webhook:standard",
      "webhook:generic",
      "pull:github_api",
      "pull:stripe_api",
    ]);
    const generic = sources.find((s) => s.name === "generic")!;
    expect(generic).toMatchObject({ provider: "generic", endpoint: "/v1/webhooks/generic", secrets_configured: true });
    expect(generic.streams[0]).toMatchObject({ name: "events", table: "raw_generic__events", typing: "schema", disposition: "append" });
    expect(generic.streams[0]!.loaded).toBeGreaterThanOrEqual(2);
    const charges = sources.find((s) => s.name === "stripe")!.streams.find((s) => s.name === "charges")!;
    expect(charges).toMatchObject({ table: "raw_stripe__charges", typing: "schema", match: ["charge"] });
    const issues = sources.find((s) => s.name === "github_api")!.streams.find((s) => s.name === "issues")!;
    expect(issues).toMatchObject({ table: "raw_github_api__issues", disposition: "merge" });
    expect(issues.schedule).toMatch(/\*/);
    // Never a secret's value.
    expect(JSON.stringify(sources)).not.toContain("test-generic-secret");
  });

  it("needs an admin token", async () => {
    expect((await get(reportToken)).status).toBe(401);
    expect((await call(new Request(`${origin}/v1/sources`))).status).toBe(401);
  });
});
