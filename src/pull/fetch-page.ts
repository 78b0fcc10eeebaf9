/**
 * Fetches one page of a pull. In: the page's URL, its source (headers, auth, request rate) and
 * when the task's previous request went out. Out: the page's headers and parsed body, or what went
 * wrong, retryable (5xx, 429 with its Retry-After, network) or terminal (refused credentials, other
 * 4xx, not JSON, a redirect off the origin). It never throws, so a prefetch that is never read
 * cannot end as an unhandled rejection.
 */
import type { RestSource } from "../config/pull-schema.ts";
import type { Runtime } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { authorize, forgetToken } from "./auth.ts";
import { fetchWithinOrigin, retryAfterSeconds } from "./request.ts";

interface Requested {
  /** Requests made, redirects included: subrequests. */
  fetches: number;
  requestedAt: number;
}

export type FetchedPage =
  | (Requested & { ok: true; headers: Headers; body: unknown; bodyBytes: number; parseMs: number })
  | (Requested & { ok: false; retryable: boolean; error: string; retryAfter?: number | undefined });

export async function fetchPage(
  runtime: Runtime,
  source: RestSource,
  page: { url: string; page: number },
  lastRequestAt: number | null,
): Promise<FetchedPage> {
  await respectRate(source, lastRequestAt);
  const requested = { fetches: 0, requestedAt: Date.now() };
  const failed = (error: string, retryable: boolean, retryAfter?: number) =>
    ({ ...requested, ok: false, retryable, error, retryAfter }) as const;
  let response: Response;
  let text: string;
  try {
    const url = new URL(page.url);
    const headers = new Headers({ accept: "application/json", "user-agent": "sluice", ...source.headers });
    await authorize(source.auth, runtime.settings, headers, url);
    const counted = { fetches: 0 };
    try {
      response = await fetchWithinOrigin(url, { headers }, 5, counted);
    } finally {
      requested.fetches = counted.fetches;
    }
    if (response.status === 429 || response.status === 503) {
      await response.body?.cancel();
      return failed(`HTTP ${response.status}`, true, retryAfterSeconds(response.headers.get("retry-after")));
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      return failed(`HTTP ${response.status}`, true);
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      forgetToken(source.auth);
      return failed(`HTTP ${response.status}: the API refused the credentials; check the source's auth secrets`, false);
    }
    if (!response.ok) {
      await response.body?.cancel();
      return failed(`HTTP ${response.status} from ${url.pathname}`, false);
    }
    text = await response.text();
  } catch (error) {
    if (error instanceof SluiceError && !error.retryable) return failed(error.message, false);
    return failed(`network error: ${error instanceof Error ? error.message : String(error)}`, true);
  }
  const parseStarted = performance.now();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return failed(`page ${page.page} is not JSON`, false);
  }
  return { ...requested, ok: true, headers: response.headers, body, bodyBytes: text.length, parseMs: performance.now() - parseStarted };
}

/** Keeps to the source's request rate: waits out what remains of the interval since the last request. */
async function respectRate(source: RestSource, lastRequestAt: number | null): Promise<void> {
  if (lastRequestAt === null) return;
  const wait = lastRequestAt + 1000 / source.limits.requestsPerSecond - Date.now();
  if (wait > 0) await new Promise((done) => setTimeout(done, Math.min(wait, 10_000)));
}
