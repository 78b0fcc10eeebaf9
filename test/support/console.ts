/**
 * The operations console as a browser meets it, inside workerd: a signed-in session cookie, and
 * pages read back through workerd's own HTML parser (HTMLRewriter), so tests assert elements and
 * their attributes, not substrings.
 */
import { expect } from "vitest";
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
