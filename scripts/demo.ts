/**
 * `npm run demo`: shows the pipeline working against a running `npm start`. It sends a few
 * signed events (one of them twice), waits for the queue to load them, fires the model cron and
 * prints the report. Reads secrets and tokens from .dev.vars; PORT or SLUICE_URL say where.
 */
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./lib/dev-server.ts";

const baseUrl = process.env.SLUICE_URL ?? `http://127.0.0.1:${process.env.PORT ?? "8787"}`;
const vars = Object.fromEntries(
  readFileSync(join(repoRoot, ".dev.vars"), "utf8")
    .split("\n")
    .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1).trim()]),
);
const first = (name: string) => {
  const value = vars[name]?.split(",")[0]?.trim();
  if (!value) throw new Error(`${name} is not set in .dev.vars`);
  return value;
};
const secret = first("GENERIC_WEBHOOK_SECRET");
const adminToken = first("ADMIN_TOKENS");
const reportToken = first("REPORT_TOKENS");

async function send(event: Record<string, unknown>, eventId: string): Promise<void> {
  const body = JSON.stringify(event);
  const signature = createHmac("sha256", secret).update(body).digest("hex");
  const response = await fetch(`${baseUrl}/v1/webhooks/generic`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-sluice-signature": `sha256=${signature}`, "x-sluice-event-id": eventId },
    body,
  });
  console.log(`POST /v1/webhooks/generic ${eventId} -> ${response.status} ${await response.text()}`);
  if (response.status !== 202) throw new Error("the webhook was not accepted");
}

async function loadedRecords(): Promise<number> {
  const response = await fetch(`${baseUrl}/v1/loads?limit=500`, { headers: { authorization: `Bearer ${adminToken}` } });
  const body = (await response.json()) as { loads: { records: number; inserted: number }[] };
  return body.loads.reduce((sum, load) => sum + load.records, 0);
}

async function main() {
  const health = await fetch(`${baseUrl}/v1/health`).catch(() => undefined);
  if (health?.status !== 200) {
    throw new Error(`no healthy Sluice at ${baseUrl}: start it with \`npm start\` in another terminal`);
  }
  const before = await loadedRecords();
  const run = randomUUID().slice(0, 8);
  const events = [
    { type: "signup", user: "ada" },
    { type: "purchase", user: "ada", amount: 42 },
    { type: "signup", user: "grace" },
  ];
  for (const [i, event] of events.entries()) await send(event, `demo-${run}-${i}`);
  await send(events[0]!, `demo-${run}-0`);
  console.log("(the last event was a redelivery: it is loaded once)");

  process.stdout.write("waiting for the queue to load them");
  const deadline = Date.now() + 30_000;
  while ((await loadedRecords()) < before + events.length + 1) {
    if (Date.now() > deadline) throw new Error("the records were not loaded within 30 s; see the npm start terminal");
    process.stdout.write(".");
    await new Promise((done) => setTimeout(done, 500));
  }
  console.log(" loaded");

  const cron = "*/15 * * * *";
  const fired = await fetch(`${baseUrl}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}`);
  console.log(`fired the model cron (${cron}) -> ${fired.status}`);

  const report = await fetch(`${baseUrl}/v1/reports/events_per_day`, { headers: { authorization: `Bearer ${reportToken}` } });
  const body = (await report.json()) as { rows: Record<string, unknown>[] };
  console.log(`GET /v1/reports/events_per_day -> ${report.status}`);
  console.table(body.rows);
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
