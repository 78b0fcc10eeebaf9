/**
 * A report's cache policy. In: the report's max-age, the client's Cache-Control, and the
 * variant asked for (report, the model's last successful run, format, query). Out: the ETag,
 * whether a 304 answers, and the cached answer if either tier (this isolate's memory, then the
 * Workers Cache API) holds one; or, after a miss, the rendered answer stored in both. A key that
 * names the model's last run is missed at once by a rebuild.
 */
import type { ReportDefinition } from "../config/index.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { type RecentReport, recentReport, rememberReport } from "./recent.ts";

export interface CachePolicy {
  /** Whether a cached answer may be given (not when the client sent `no-cache`). */
  lookUp: boolean;
  /** Whether this answer may be kept (not when the client sent `no-store`). */
  store: boolean;
  /** The Cache-Control clients get. */
  cacheControl: string;
  maxAge: number;
}

/**
 * A client's `Cache-Control: no-cache` asks for an answer read afresh, `no-store` for one kept
 * nowhere; a report whose maxAge is 0 is never cached.
 */
export function cachePolicy(report: ReportDefinition, requested: string | undefined): CachePolicy {
  const asked = requested?.toLowerCase() ?? "";
  return {
    lookUp: report.maxAge > 0 && !/\bno-cache\b/.test(asked),
    store: report.maxAge > 0 && !/\bno-store\b/.test(asked),
    cacheControl: `private, max-age=${report.maxAge}`,
    maxAge: report.maxAge,
  };
}

/** The cache key and ETag's input: the format is in it, since an Accept header alone can choose it. */
export function reportVariant(name: string, runId: string | undefined, format: string, query: URLSearchParams): string {
  const canonical = [...query.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  return `${name}/${runId ?? "none"}/${format}?${canonical}`;
}

/** What the cache makes of one request for one variant. */
export interface ReportCache {
  etag: string;
  /** Whether the client's If-None-Match already holds this answer. */
  notModified(ifNoneMatch: string | undefined): boolean;
  /** The cached answer, from memory or the Cache API, if the policy allows one and a tier has it. */
  lookUp(): Promise<RecentReport | undefined>;
  /** Keeps a rendered answer as the policy allows, and returns it as served. */
  store(rendered: { body: string; headers: Record<string, string> }, waitUntil: (work: Promise<unknown>) => void): RecentReport;
}

export async function openReportCache(policy: CachePolicy, variant: string): Promise<ReportCache> {
  const recent = policy.lookUp ? recentReport(variant) : undefined;
  const etag = recent?.etag ?? `"${(await sha256Hex(variant)).slice(0, 32)}"`;
  const key = new Request(`https://sluice.cache/reports/${variant}`);
  const cache = typeof caches === "undefined" ? undefined : (caches as unknown as { default: Cache }).default;
  const expiresAt = () => Date.now() + policy.maxAge * 1000;
  return {
    etag,
    notModified: (ifNoneMatch) => ifNoneMatch?.split(/\s*,\s*/).includes(etag) ?? false,
    async lookUp() {
      if (recent) return recent;
      const hit = policy.lookUp ? await cache?.match(key) : undefined;
      if (!hit) return undefined;
      const stored: RecentReport = { body: await hit.text(), headers: storedHeaders(hit.headers), etag, expiresAt: expiresAt() };
      rememberReport(variant, stored);
      return stored;
    },
    store(rendered, waitUntil) {
      const headers = { ...rendered.headers, ETag: etag, Vary: "Accept" };
      const served: RecentReport = { body: rendered.body, headers, etag, expiresAt: expiresAt() };
      if (policy.store) rememberReport(variant, served);
      if (cache && policy.store) {
        // The Cache API keeps nothing marked private; the stored copy is public to the cache only,
        // under a key only an authorized request reaches, and clients still get `private`.
        waitUntil(
          cache.put(key, new Response(rendered.body, { headers: { ...headers, "Cache-Control": `public, max-age=${policy.maxAge}` } })),
        );
      }
      return served;
    },
  };
}

/** The answer as sent: the entry's headers, the policy's Cache-Control, and which tier it came from. */
export function reply(entry: RecentReport, cacheStatus: "HIT" | "MISS", cacheControl: string): Response {
  return new Response(entry.body, { headers: { ...entry.headers, "Cache-Control": cacheControl, "X-Cache": cacheStatus } });
}

/** The headers a response keeps from the Cache API's copy (its Cache-Control is the cache's own). */
function storedHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of ["Content-Type", "ETag", "Link", "Vary"]) {
    const value = headers.get(name);
    if (value !== null) kept[name] = value;
  }
  return kept;
}
