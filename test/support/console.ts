/**
 * The operations console as a browser meets it, inside workerd: a signed-in session cookie, and
 * pages read back through workerd's own HTML parser (HTMLRewriter), so tests assert elements and
 * their attributes, not substrings; judged monitor buckets seeded as the monitors store them.
 */
import { env } from "cloudflare:test";
import { drizzle } from "drizzle-orm/d1";
import { expect } from "vitest";
import { monitorBuckets } from "../../src/db/schema.ts";
import { adminToken } from "./fixtures.ts";
import { call, origin } from "./worker.ts";

/** Signs in with the admin token and returns the session cookie (`name=value`). */
export async function signIn(): Promise<string> {
  const response = await call(
    new Request(`${origin}/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin },
      body: new URLSearchParams({ token: adminToken }),
    }),
  );
  expect(response.status).toBe(303);
  return response.headers.get("set-cookie")!.split(";")[0]!;
}

const hour = 3_600_000;

/** `n` judged hourly buckets ending `endsHoursAgo` hours ago; the first `bare` have no expected range. */
export async function seedBuckets(monitorId: string, n: number, { anomalous = [] as number[], bare = 0, endsHoursAgo = 1 } = {}) {
  const first = Math.floor(Date.now() / hour) * hour - (n + endsHoursAgo - 1) * hour;
  const rows = Array.from({ length: n }, (_, i) => ({
    monitorId,
    bucketStart: new Date(first + i * hour).toISOString(),
    bucketEnd: new Date(first + (i + 1) * hour).toISOString(),
    value: anomalous.includes(i) ? 2 : 40 + (i % 5),
    rows: 40,
    expectedLow: i < bare ? null : 30,
    expectedHigh: i < bare ? null : 55,
    z: i < bare ? null : anomalous.includes(i) ? -7.5 : 0.4,
    anomalous: anomalous.includes(i),
    judgedAt: new Date().toISOString(),
  }));
  const db = drizzle(env.DB);
  for (let i = 0; i < rows.length; i += 8) await db.insert(monitorBuckets).values(rows.slice(i, i + 8));
  return rows;
}

export type Element = Record<string, string> & { text: string };

const entities: Record<string, string> = { "&quot;": '"', "&lt;": "<", "&gt;": ">", "&#39;": "'", "&amp;": "&" };
const decode = (s: string) => s.replace(/&(quot|lt|gt|#39|amp);/g, (e) => entities[e]!);

/** Every element matching `selector`: its attributes and its text (entities decoded), in document order. */
export async function select(html: string, selector: string): Promise<Element[]> {
  const found: Element[] = [];
  await new HTMLRewriter()
    .on(selector, {
      element(e) {
        found.push({ ...Object.fromEntries([...e.attributes].map(([k, v]) => [k, decode(v ?? "")])), text: "" } as Element);
      },
      // Text inside a match goes to the latest match: right for every selector whose matches do not nest.
      text(t) {
        const last = found[found.length - 1];
        if (last) last.text += decode(t.text);
      },
    })
    .transform(new Response(html))
    .text();
  return found;
}
