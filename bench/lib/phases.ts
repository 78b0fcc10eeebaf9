/**
 * What the floor benchmarks share: one autocannon phase against a Worker, every response checked
 * (a 429 or a cache miss counted as a success fails the bench), and the medians of alternating
 * rounds. In: a URL, a request source, a check per response. Out: a `Phase` (req/s, p50, p99)
 * per round, and medians and ratios over rounds.
 */
import autocannon from "autocannon";
import { cpuMs } from "./process-cpu.ts";

export interface Phase {
  rps: number;
  p50: number;
  p99: number;
  /** CPU the Worker's workerd process spent per request answered during the phase (NaN if unknown). */
  cpuMsPerRequest: number;
}

export interface PhaseOptions {
  url: string;
  connections: number;
  seconds: number;
  /** Requests per second for the whole phase (open loop at a fixed rate); closed loop when absent. */
  rate?: number | undefined;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** The next request's path, and headers and body when it has its own. */
  next: () => { path: string; headers?: Record<string, string>; body?: string };
  /** What is wrong with a response (its status and headers), or undefined when it is as expected. */
  check: (status: number, headers: Record<string, string>) => string | undefined;
  /** The Worker's workerd process, whose CPU the phase reports per request. */
  pid?: number | undefined;
}

/** One phase; throws if any response was not 2xx, failed its check, errored or timed out. */
export async function runPhase(options: PhaseOptions): Promise<Phase> {
  let checked = 0;
  const wrong = new Map<string, number>();
  /** Non-2xx answers by status and the start of their body, so a failed phase says what failed. */
  const refused = new Map<string, number>();
  const cpuBefore = cpuMs(options.pid);
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    method: options.method ?? "GET",
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.rate ? { overallRate: options.rate } : {}),
    requests: [
      {
        setupRequest: (request) => {
          const next = options.next();
          return {
            ...request,
            path: next.path,
            ...(next.body !== undefined ? { body: next.body } : {}),
            headers: { ...request.headers, ...next.headers },
          };
        },
        onResponse: (status, body, _context, received) => {
          checked += 1;
          if (status < 200 || status > 299) {
            const kind = `${status} ${String(body ?? "").slice(0, 200)}`;
            refused.set(kind, (refused.get(kind) ?? 0) + 1);
          }
          const lower = Object.fromEntries(
            Object.entries((received ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
          );
          const problem = options.check(status, lower);
          if (problem !== undefined) wrong.set(problem, (wrong.get(problem) ?? 0) + 1);
        },
      },
    ],
  });
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0)
    throw new Error(
      `${options.url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts: ${JSON.stringify(Object.fromEntries(refused))}`,
    );
  if (checked === 0 || wrong.size > 0)
    throw new Error(`${options.url}: ${wrong.size} kinds of wrong response among ${checked}: ${JSON.stringify(Object.fromEntries(wrong))}`);
  const cpuMsPerRequest = (cpuMs(options.pid) - cpuBefore) / checked;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuMsPerRequest };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The median over rounds of a's throughput over b's in the same round. */
export const medianRatio = (a: Phase[], b: Phase[]) => median(a.map((x, k) => x.rps / b[k]!.rps));
export const medianRps = (p: Phase[]) => Math.round(median(p.map((x) => x.rps)));
export const medianP99 = (p: Phase[]) => median(p.map((x) => x.p99));
export const medianCpu = (p: Phase[]) => Number(median(p.map((x) => x.cpuMsPerRequest)).toFixed(2));

/** One line per measured side: medians, then every round, so the spread shows. */
export function printPhases(label: string, p: Phase[]): void {
  console.log(
    `${label.padEnd(18)} ${medianRps(p)} req/s, p50 ${median(p.map((x) => x.p50))} ms, p99 ${medianP99(p)} ms, CPU ${medianCpu(p)} ms/req  (rounds: ${p.map((x) => Math.round(x.rps)).join(", ")} req/s; p99 ${p.map((x) => x.p99).join(", ")} ms)`,
  );
}
