/**
 * Builds a resource's first request: base URL (from config or a var), the path with its
 * placeholders filled, the resource's params, and the incremental value (`since`, minus the
 * lookback). Later pages follow the paginator and never re-add params.
 */
import type { Resource, RestSource } from "../config/pull-schema.ts";
import type { Settings } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";

export function baseUrlOf(source: RestSource, settings: Settings): string {
  if (typeof source.baseUrl === "string") return source.baseUrl;
  const value = settings.vars[source.baseUrl.var] ?? source.baseUrl.default;
  if (!value) throw new SluiceError("source_not_configured", `set ${source.baseUrl.var} to the API's base URL`);
  return value;
}

/** The incremental value to send: the committed cursor (or the initial value), less the lookback. */
export function sinceValue(resource: Resource, committed: string | null): string | null {
  const incremental = resource.incremental;
  if (!incremental) return null;
  const cursor = committed ?? incremental.initialValue;
  const time = Date.parse(cursor);
  if (incremental.lookbackSeconds > 0 && /^\d{4}-\d{2}-\d{2}T/.test(cursor) && Number.isFinite(time)) {
    return new Date(time - incremental.lookbackSeconds * 1000).toISOString().replace(".000Z", "Z");
  }
  return cursor;
}

export function resourceUrl(source: RestSource, resource: Resource, settings: Settings, since: string | null): URL {
  const incremental = resource.incremental;
  const path = resource.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    if (incremental && incremental.param === `{${name}}`) return encodeURIComponent(since ?? "");
    const envName = source.pathVars[name];
    const value = envName ? settings.vars[envName] : undefined;
    if (!value) throw new SluiceError("source_not_configured", `set ${envName ?? name} for the {${name}} in ${resource.path}`);
    // Path values such as owner/repo keep their slashes; each segment is encoded.
    return value.split("/").map(encodeURIComponent).join("/");
  });
  const url = new URL(baseUrlOf(source, settings).replace(/\/+$/, "") + path);
  for (const [name, value] of Object.entries(resource.params)) url.searchParams.set(name, String(value));
  if (incremental && since !== null && !incremental.param.startsWith("{")) url.searchParams.set(incremental.param, since);
  if (incremental?.endValue && incremental.endParam) url.searchParams.set(incremental.endParam, incremental.endValue);
  return url;
}

/** The larger of two cursor values: numerically if both are numbers, else as strings (ISO sorts). */
export function maxCursor(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  const [x, y] = [Number(a), Number(b)];
  if (Number.isFinite(x) && Number.isFinite(y) && a.trim() !== "" && b.trim() !== "") return x >= y ? a : b;
  return a >= b ? a : b;
}

/** Seconds to wait from a Retry-After header (seconds or an HTTP date); undefined if absent or 0. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) > 0 ? Math.min(Number(value), 43_200) : undefined;
  const at = Date.parse(value);
  if (!Number.isFinite(at)) return undefined;
  const seconds = Math.ceil((at - now) / 1000);
  return seconds > 0 ? Math.min(seconds, 43_200) : undefined;
}

/** Exponential backoff with full jitter, in whole seconds: what `Retry-After: 0` falls back to. */
export function jitteredBackoff(attempts: number, baseSeconds = 2, capSeconds = 300): number {
  const ceiling = Math.min(capSeconds, baseSeconds * 2 ** Math.min(Math.max(0, attempts - 1), 16));
  return Math.max(1, Math.ceil(ceiling / 2 + Math.random() * (ceiling / 2)));
}

const followed = new Set([301, 302, 303, 307, 308]);

/**
 * `fetch` for a pull, which carries the source's credentials: redirects are followed by hand and
 * only within the origin first asked (with the same headers), at most `maxRedirects` of them.
 * `fetch` would follow a redirect to any origin, and workerd drops only `Authorization` there,
 * so an API key header would go with it and the other origin's records would be loaded. A
 * redirect to another origin, a loop or too many hops is a terminal error: retrying cannot help.
 * Errors name origins and paths only, since a query may hold an API key.
 */
export async function fetchWithinOrigin(
  url: URL,
  init: RequestInit,
  maxRedirects = 5,
  counted: { fetches: number } = { fetches: 0 },
): Promise<Response> {
  const visited = new Set<string>();
  let current = url;
  let request = init;
  for (;;) {
    visited.add(current.href);
    // Each hop is a subrequest, counted against the page task's budget.
    counted.fetches += 1;
    const response = await fetch(current, { ...request, redirect: "manual" });
    const location = response.headers.get("location");
    if (!followed.has(response.status) || location === null) return response;
    await response.body?.cancel();
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new SluiceError(
        "forbidden",
        `${current.origin}${current.pathname} answered ${response.status} with a Location that is not a URL`,
        { retryable: false },
      );
    }
    if (next.origin !== url.origin) {
      throw new SluiceError(
        "forbidden",
        `${url.origin} redirected to another origin, ${next.origin}; Sluice sends a source's credentials only to its own origin, ` +
          "so the run stops (if the API moved, set the source's base URL to the new origin)",
        { retryable: false },
      );
    }
    if (visited.has(next.href)) {
      throw new SluiceError(
        "forbidden",
        `redirect loop on ${url.origin}: ${current.pathname} redirects to ${next.pathname}, already visited`,
        { retryable: false },
      );
    }
    if (visited.size > maxRedirects) {
      throw new SluiceError("forbidden", `more than ${maxRedirects} redirects from ${url.pathname} on ${url.origin}; the run stops`, {
        retryable: false,
      });
    }
    // As fetch does: 303, and 301/302 after a POST, continue as a GET without the body.
    const method = (request.method ?? "GET").toUpperCase();
    if (
      (response.status === 303 && method !== "GET" && method !== "HEAD") ||
      ((response.status === 301 || response.status === 302) && method === "POST")
    ) {
      const headers = new Headers(request.headers);
      headers.delete("content-type");
      request = { ...request, method: "GET", body: null, headers };
    }
    current = next;
  }
}
