/**
 * `npm run bench -- soak`: the promise that every accepted event is loaded exactly once, at
 * volume. Starts `wrangler dev`, posts signed deliveries across all six example webhook sources
 * (5% exact duplicates, 1% failing their stream's schema, 0.5% over 100 KB for the claim check,
 * 0.5% with bad signatures), retries what the Worker answers 5xx or 429 as a provider would,
 * waits until the queues drain (redriving dead letters if any), and reconciles per key: every
 * key the soak got a 2xx for must end in exactly one of the outcomes DESIGN.md allows (a row, a
 * quarantine row, a dead letter, a record its stream's filter dropped), read from the dev
 * server's local D1 file with node:sqlite, and `GET /v1/reconcile` must add up from its own
 * independent counts. Every rejection must be counted in `/metrics`.
 *
 * `BENCH_EVENTS` (default 100,000) sets the volume and `BENCH_FAULTS` a `SLUICE_FAULTS` spec
 * (e.g. `0.05`). The test suite runs the same soak at 5,000 events.
 */
import { readdirSync, readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { type DevServer, startDevServer } from "../scripts/lib/dev-server.ts";
import { adminToken, secrets, testSecrets } from "../test/support/fixtures.ts";
import { type Provider, signers } from "../test/support/sign.ts";
import { d1File } from "./lib/local-d1.ts";

export interface SoakOptions {
  events: number;
  /** A `SLUICE_FAULTS` spec, or undefined for none. */
  faults?: string | undefined;
  /** Requests in flight at once. */
  concurrency?: number;
  /** How long to wait for the queues to drain. */
  drainTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface SoakResult extends KeyOutcomes {
  bench: "soak";
  events: number;
  /** Distinct deliveries answered 2xx. */
  accepted: number;
  duplicates_sent: number;
  rejected: number;
  /** Bad-signature rejections `/metrics` counted, which must equal `rejected`. */
  rejected_in_metrics: number;
  expected_quarantined: number;
  claim_checks: number;
  redrives: number;
  events_per_s: number;
  drain_s: number;
  peak_rss_mb: number;
  faults: string | null;
  /** Requests retried after a 5xx or 429, as a provider would. */
  retried_requests: number;
  /** Every log line, error body and metric scanned for the known secret values: lines with one. */
  secret_leaks: number;
  reconciled: boolean;
}

const providers: Provider[] = ["stripe", "github", "shopify", "slack", "standard", "generic"];
/** The secret values the soak's Worker holds, which no log line, error body or metric may show. */
export const knownSecrets = [
  ...Object.values(testSecrets)
    .filter((value) => value !== testSecrets.LOG_LEVEL)
    .flatMap((value) => value.split(","))
    .map((value) => value.replace(/@.*$/, "")),
  ...Object.values(secrets),
];

interface Delivery {
  provider: Provider;
  body: string;
  headers: Record<string, string>;
  kind: "ok" | "schema" | "badsig";
  big: boolean;
}

/** The body a provider would send for event `i`; `bad` breaks the stream's schema. */
function eventBody(provider: Provider, i: number, bad: boolean, pad: string | undefined): string {
  const extra = pad ? { pad } : {};
  switch (provider) {
    case "stripe":
      return JSON.stringify({
        id: `evt_soak_${i}`,
        object: "event",
        type: "charge.succeeded",
        created: 1_700_000_000 + i,
        // The charges stream's schema requires a string id.
        data: {
          object: {
            id: bad ? i : `ch_soak_${i}`,
            object: "charge",
            amount: 100 + (i % 1000),
            currency: "usd",
            status: "succeeded",
            ...extra,
          },
        },
      });
    case "github":
      return JSON.stringify({
        action: "opened",
        issue: { number: i, title: `Issue ${i}` },
        repository: { full_name: "acme/widgets" },
        ...extra,
      });
    case "shopify":
      return JSON.stringify({ id: i, name: `#${i}`, total_price: `${(i % 500) + 0.5}`, currency: "USD", ...extra });
    case "slack":
      return JSON.stringify({
        type: "event_callback",
        team_id: "T1",
        event_id: `Ev_soak_${i}`,
        event_time: 1_700_000_000 + i,
        event: { type: "message", text: `hello ${i}`, ...extra },
      });
    case "standard":
      return JSON.stringify({
        type: "invoice.paid",
        timestamp: new Date(1_700_000_000_000 + i * 1000).toISOString(),
        data: { invoice: i, ...extra },
      });
    case "generic":
      // The generic stream's schema declares `type` as a string.
      return JSON.stringify({ type: bad ? i : "soak", n: i, ...extra });
  }
}

async function delivery(i: number, kind: Delivery["kind"], big: boolean): Promise<Delivery> {
  // Schema failures come from the two streams with schemas; everything else round-robins.
  const provider = kind === "schema" ? (i % 2 ? "stripe" : "generic") : providers[i % providers.length]!;
  const body = eventBody(provider, i, kind === "schema", big ? "x".repeat(110_000) : undefined);
  const id = `soak-${i}`;
  const options = {
    id,
    event: provider === "github" ? "issues" : provider === "shopify" ? "orders/create" : undefined,
    ...(kind === "badsig" ? { secret: "not-the-secret" } : {}),
  };
  // A GitHub or Shopify delivery id, a Standard Webhooks message id, a generic event id.
  const signed = await signers[provider](body, provider === "standard" ? { ...options, id: `msg_${id}` } : options);
  return { provider, body, headers: { "content-type": "application/json", ...signed }, kind, big };
}

/**
 * Which deliveries are duplicates, schema failures, oversized and forged: spread evenly, the
 * same for every run of a size. Delivery i ≡ 7 (mod 20) re-sends delivery i − 13, which is never
 * itself a duplicate, a schema failure or a forgery.
 */
export function plan(events: number) {
  const every = (fraction: number) => Math.max(1, Math.round(1 / fraction));
  return Array.from({ length: events }, (_, i) => ({
    duplicate: i % every(0.05) === 7 && i > 20,
    kind: (i % every(0.01) === 3 ? "schema" : i % every(0.005) === 11 ? "badsig" : "ok") as Delivery["kind"],
    big: i % every(0.005) === 5,
  }));
}

const duplicateOf = (i: number) => i - 13;

/** Posts a delivery, retrying 5xx and 429; records the key Sluice answered a 2xx with. */
async function post(server: DevServer, d: Delivery, counters: { retried: number }, bodies: string[], keys: Set<string>): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    let status: number;
    try {
      const response = await fetch(`${server.url}/v1/webhooks/${d.provider}`, { method: "POST", headers: d.headers, body: d.body });
      status = response.status;
      const text = await response.text();
      if (status >= 400) bodies.push(text);
      if (status < 300) keys.add(outcomeId(d.provider, (JSON.parse(text) as { key: string }).key));
    } catch {
      status = 599;
    }
    if ((status < 500 && status !== 429) || attempt >= 30) return status;
    counters.retried += 1;
    await new Promise((done) => setTimeout(done, Math.min(2000, 50 * 2 ** Math.min(attempt, 5))));
  }
}

/** workerd's resident memory: the sum over the workerd processes in wrangler's process group. */
function workerdRssMb(groupId: number): number {
  let kb = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      if (pgrp !== groupId || !comm.startsWith("workerd")) continue;
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      // The process ended between listing and reading.
    }
  }
  return Math.round(kb / 1024);
}

const outcomeId = (source: string, key: string) => `${source}\u0000${key}`;

/** Where the accepted keys ended up, each counted by key. */
export interface KeyOutcomes {
  /** Accepted keys whose one outcome is a row. */
  loaded: number;
  /** Accepted keys whose one outcome is an open quarantine row. */
  quarantined: number;
  /** Accepted keys whose one outcome is an open dead letter. */
  dead_lettered: number;
  /** Accepted keys with no outcome at all. */
  lost: number;
  /** Accepted keys with more than one outcome (two rows, a row and a quarantine row, …). */
  duplicated: number;
  /** Rows, quarantine rows and dead letters of the soak's sources under a key no 2xx answered. */
  unexpected: number;
}

/**
 * Per key: how many outcomes each accepted key of the soak's sources has in D1, read from the dev
 * server's local D1 file (the SQLite file under its `--persist-to` state folder). Rows are found
 * in every table of the source, since a key ends in exactly one stream.
 */
export function reconcileKeys(persistTo: string, sources: readonly string[], accepted: ReadonlySet<string>): KeyOutcomes {
  const db = new DatabaseSync(d1File(persistTo), { readOnly: true });
  try {
    const outcomes = new Map<string, { rows: number; quarantined: number; dead: number }>();
    const add = (source: string, key: string, kind: "rows" | "quarantined" | "dead") => {
      const id = outcomeId(source, key);
      const entry = outcomes.get(id) ?? { rows: 0, quarantined: 0, dead: 0 };
      entry[kind] += 1;
      outcomes.set(id, entry);
    };
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'raw\\_%' ESCAPE '\\' AND name NOT LIKE '%\\_\\_staging' ESCAPE '\\'",
      )
      .all() as { name: string }[];
    for (const source of sources) {
      for (const { name } of tables.filter((t) => t.name.startsWith(`raw_${source}__`))) {
        for (const row of db.prepare(`SELECT _sluice_key AS key FROM "${name.replaceAll('"', '""')}"`).all() as { key: string }[])
          add(source, row.key, "rows");
      }
      for (const row of db.prepare("SELECT key FROM _sluice_quarantine WHERE source = ? AND status = 'open'").all(source) as {
        key: string;
      }[])
        add(source, row.key, "quarantined");
      for (const row of db
        .prepare("SELECT key FROM _sluice_dead_letters WHERE source = ? AND status = 'open' AND key IS NOT NULL")
        .all(source) as { key: string }[]) {
        add(source, row.key, "dead");
      }
    }
    const result: KeyOutcomes = { loaded: 0, quarantined: 0, dead_lettered: 0, lost: 0, duplicated: 0, unexpected: 0 };
    for (const id of accepted) {
      const entry = outcomes.get(id);
      const total = entry ? entry.rows + entry.quarantined + entry.dead : 0;
      if (total === 0) result.lost += 1;
      else if (total > 1) result.duplicated += 1;
      else if (entry!.rows) result.loaded += 1;
      else if (entry!.quarantined) result.quarantined += 1;
      else result.dead_lettered += 1;
    }
    for (const id of outcomes.keys()) if (!accepted.has(id)) result.unexpected += 1;
    return result;
  } finally {
    db.close();
  }
}

interface Balance {
  source: string;
  stream: string;
  accepted: number;
  quarantined: number;
  dead_lettered: number;
  in_flight: number;
  rows: number;
  adds_up: boolean;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? console.log;
  const concurrency = options.concurrency ?? 32;
  const server = await startDevServer({
    vars: { ...testSecrets, LOG_LEVEL: "info", ...(options.faults ? { SLUICE_FAULTS: options.faults } : {}) },
  });
  const admin = { authorization: `Bearer ${adminToken}` };
  let peakRss = workerdRssMb(server.pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, workerdRssMb(server.pid))), 500);
  try {
    const planned = plan(options.events);
    const counters = { retried: 0 };
    const errorBodies: string[] = [];
    let accepted = 0;
    let rejected = 0;
    let expectedQuarantined = 0;
    let duplicatesSent = 0;
    let claimChecks = 0;
    // Each delivery's request and final status, by index, for the duplicates that re-send them.
    const deliveries = new Map<number, Promise<Delivery>>();
    const answered = new Map<number, Promise<number>>();
    // Every (source, key) Sluice answered 2xx, re-deliveries included (a set: each key once).
    const acceptedKeys = new Set<string>();

    const started = performance.now();
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < planned.length; i = next++) {
        const p = planned[i]!;
        if (p.duplicate) {
          // A provider's redelivery: byte for byte, a request already answered 2xx.
          const original = duplicateOf(i);
          const status =
            (await answered.get(original)!) < 300
              ? await post(server, await deliveries.get(original)!, counters, errorBodies, acceptedKeys)
              : 0;
          if (status >= 300) throw new Error(`a duplicate delivery got ${status}`);
          if (status > 0) duplicatesSent += 1;
          continue;
        }
        // Both are registered before any await, so a later duplicate always finds them.
        const built = delivery(i, p.kind, p.big);
        const posted = built.then((d) => post(server, d, counters, errorBodies, acceptedKeys));
        deliveries.set(i, built);
        answered.set(i, posted);
        const [d, status] = await Promise.all([built, posted]);
        if (d.kind === "badsig") {
          if (status !== 401) throw new Error(`a forged ${d.provider} delivery got ${status}, not 401`);
          rejected += 1;
          continue;
        }
        if (status >= 300) throw new Error(`a ${d.provider} delivery got ${status} after retries:\n${errorBodies.at(-1)}`);
        accepted += 1;
        if (d.kind === "schema") expectedQuarantined += 1;
        if (d.big) claimChecks += 1;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const sendSeconds = (performance.now() - started) / 1000;
    log(
      `sent ${options.events} deliveries in ${sendSeconds.toFixed(1)} s: ${accepted} accepted, ${duplicatesSent} duplicates, ${rejected} forged (401), ${counters.retried} retried requests`,
    );

    // Drain: until every stream adds up and the totals hold still; redrive any dead letters.
    const deadline = Date.now() + (options.drainTimeoutMs ?? 600_000);
    let redrives = 0;
    let streams: Balance[] = [];
    let last = "";
    let steady = 0;
    while (Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 1000));
      const response = await fetch(`${server.url}/v1/reconcile`, { headers: admin });
      if (!response.ok) continue;
      streams = ((await response.json()) as { streams: Balance[] }).streams.filter((s) => providers.includes(s.source as Provider));
      const dead = streams.reduce((n, s) => n + s.dead_lettered, 0);
      const total = streams.reduce((n, s) => n + s.rows + s.quarantined, 0);
      if (dead > 0 && streams.every((s) => s.in_flight === 0)) {
        redrives += 1;
        log(`redriving ${dead} dead letters`);
        await fetch(`${server.url}/v1/dead-letters/redrive`, {
          method: "POST",
          headers: { ...admin, "content-type": "application/json" },
          body: "{}",
        });
        continue;
      }
      // Drained once every accepted delivery has its row and nothing has moved for two polls.
      const state = `${total}|${dead}|${streams.map((s) => s.in_flight).join(",")}`;
      steady = state === last ? steady + 1 : 0;
      last = state;
      if (total >= accepted && steady >= 2) break;
    }
    const drainSeconds = (performance.now() - started) / 1000;

    const outcomes = reconcileKeys(server.persistTo, providers, acceptedKeys);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: admin })).text();
    const rejectedInMetrics = metrics
      .split("\n")
      .filter(
        (line) =>
          line.startsWith("sluice_webhooks_total{") && line.includes('outcome="rejected"') && line.includes('reason="bad_signature"'),
      )
      .reduce((n, line) => n + Number(line.split(" ").at(-1)), 0);
    const scanned = [...server.output().split("\n"), ...errorBodies, ...metrics.split("\n")];
    const secretLeaks = scanned.filter((line) => knownSecrets.some((secret) => line.includes(secret))).length;

    const result: SoakResult = {
      bench: "soak",
      events: options.events,
      accepted,
      ...outcomes,
      duplicates_sent: duplicatesSent,
      rejected,
      rejected_in_metrics: rejectedInMetrics,
      expected_quarantined: expectedQuarantined,
      claim_checks: claimChecks,
      redrives,
      events_per_s: Math.round(options.events / sendSeconds),
      drain_s: Number(drainSeconds.toFixed(1)),
      peak_rss_mb: peakRss,
      faults: options.faults ?? null,
      retried_requests: counters.retried,
      secret_leaks: secretLeaks,
      reconciled: streams.every((s) => s.adds_up),
    };
    if (acceptedKeys.size !== accepted) log(`${accepted} deliveries accepted under ${acceptedKeys.size} distinct keys`);
    if (result.lost > 0 || result.duplicated > 0 || result.unexpected > 0 || !result.reconciled) {
      log(
        JSON.stringify(
          streams.filter((s) => !s.adds_up || s.rows + s.quarantined > 0),
          null,
          1,
        ),
      );
    }
    return result;
  } finally {
    clearInterval(sampler);
    await server.stop();
  }
}

export async function main(): Promise<void> {
  const events = Number(process.env.BENCH_EVENTS ?? 100_000);
  const faults = process.env.BENCH_FAULTS || undefined;
  const result = await runSoak({ events, faults });
  console.log(
    `accepted ${result.events_per_s} events/s; everything loaded ${result.drain_s} s after the first delivery; workerd peak RSS ${result.peak_rss_mb} MB`,
  );
  console.log(
    `accepted ${result.accepted}, loaded ${result.loaded}, quarantined ${result.quarantined} (expected ${result.expected_quarantined}), dead-lettered ${result.dead_lettered}, lost ${result.lost}, duplicated ${result.duplicated}, unexpected ${result.unexpected} (keys), rejected ${result.rejected} (metrics ${result.rejected_in_metrics}), secret leaks ${result.secret_leaks}`,
  );
  console.log(JSON.stringify(result));
  if (
    result.lost > 0 ||
    result.duplicated > 0 ||
    result.unexpected > 0 ||
    result.rejected !== result.rejected_in_metrics ||
    result.secret_leaks > 0 ||
    !result.reconciled
  )
    process.exitCode = 1;
}
