import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.ts";
import { createRuntime } from "../../src/env.ts";
import { raiseAlert, resolveAlert } from "../../src/ops/alerts.ts";

const hook = `hook-${crypto.randomUUID().slice(0, 8)}`;
const runtime = () =>
  createRuntime(
    { ...env, ALERT_WEBHOOK: `${env.FAKE_API_URL}/__admin/hooks/${hook}`, SLUICE_PUBLIC_URL: "https://sluice.example.com" } as Env,
    "scheduled",
    parseConfig({ alerts: [{ on: ["test_failed", "pull_failed"], webhook: "ALERT_WEBHOOK" }] }),
  );
const delivered = async () => (await (await fetch(`${env.FAKE_API_URL}/__admin/hooks/${hook}`)).json()) as { text: string }[];

describe("alerts", () => {
  it("fires once per incident, resolves once, and fires again if it comes back", async () => {
    const rt = runtime();
    const incident = {
      kind: "test_failed" as const,
      subject: "test.sluice.unique_orders_id",
      message: "Got 2 results, configured to fail if != 0",
    };
    expect(await raiseAlert(rt, incident)).toBe(true);
    expect(await raiseAlert(rt, incident)).toBe(false); // the next cron tick: still failing, no repeat
    expect(await resolveAlert(rt, "test_failed", incident.subject, "the test passes again")).toBe(true);
    expect(await resolveAlert(rt, "test_failed", incident.subject, "the test passes again")).toBe(false);
    expect(await raiseAlert(rt, incident)).toBe(true);

    expect(await delivered()).toEqual([
      {
        text: ":rotating_light: Sluice test failed: test.sluice.unique_orders_id. Got 2 results, configured to fail if != 0 <https://sluice.example.com/|Open the dashboard>",
      },
      {
        text: ":white_check_mark: Resolved: Sluice test failed: test.sluice.unique_orders_id. the test passes again <https://sluice.example.com/|Open the dashboard>",
      },
      {
        text: ":rotating_light: Sluice test failed: test.sluice.unique_orders_id. Got 2 results, configured to fail if != 0 <https://sluice.example.com/|Open the dashboard>",
      },
    ]);
    const [row] = (await env.DB.prepare("SELECT status, notifications FROM _sluice_alerts WHERE subject = ?1").bind(incident.subject).all())
      .results;
    expect(row).toEqual({ status: "open", notifications: 3 });
  });

  it("only sends the kinds a rule asks for", async () => {
    const rt = runtime();
    const before = (await delivered()).length;
    await raiseAlert(rt, { kind: "dead_letter", subject: "stripe/charges", message: "x" });
    expect((await delivered()).length).toBe(before);
  });
});
