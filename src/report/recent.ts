/**
 * The reports' first cache tier: responses this isolate served recently, kept in its memory in
 * front of the Workers Cache API. A hit costs no subrequest at all. Entries live no longer than
 * the report's max-age, the same as in the Cache API, and their keys name the model's last
 * successful run, so a rebuild misses them at once. Bounded by entries and bytes; the least
 * recently used go first.
 */
export interface RecentReport {
  body: string;
  /** The response's own headers (type, ETag, Link, Vary); Cache-Control and X-Cache are added per request. */
  headers: Record<string, string>;
  etag: string;
  expiresAt: number;
}

const maxEntries = 500;
/** UTF-16 code units across all bodies: about 16 MiB of the isolate's 128 MiB. */
const maxChars = 8 * 1024 * 1024;
/** A body larger than this is left to the Cache API alone. */
export const maxRecentChars = 512 * 1024;

const entries = new Map<string, RecentReport>();
let chars = 0;

export function recentReport(key: string, now = Date.now()): RecentReport | undefined {
  const entry = entries.get(key);
  if (!entry) return undefined;
  entries.delete(key);
  if (entry.expiresAt <= now) {
    chars -= entry.body.length;
    return undefined;
  }
  entries.set(key, entry); // most recently used last
  return entry;
}

export function rememberReport(key: string, entry: RecentReport): void {
  if (entry.body.length > maxRecentChars || entry.expiresAt <= Date.now()) return;
  const previous = entries.get(key);
  if (previous) {
    entries.delete(key);
    chars -= previous.body.length;
  }
  entries.set(key, entry);
  chars += entry.body.length;
  for (const [oldest, old] of entries) {
    if (entries.size <= maxEntries && chars <= maxChars) break;
    entries.delete(oldest);
    chars -= old.body.length;
  }
}

/** Empties this isolate's tier; the Cache API keeps its copies. */
export function forgetRecentReports(): void {
  entries.clear();
  chars = 0;
}
