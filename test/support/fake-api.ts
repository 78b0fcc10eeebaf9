/**
 * A fake of the SaaS APIs Sluice pulls from, served on a local port for end-to-end tests and
 * benchmarks and reached from workerd tests. It follows the providers' documented paging:
 * GitHub's `Link` headers with `page`/`per_page`/`since`, Stripe's `has_more` with
 * `starting_after`, offset with a total, and page numbers with a total page count. It takes a
 * bearer token or an `X-Api-Key` header, and issues tokens to OAuth2 clients at `/oauth/token`.
 * Faults (errors, Retry-After, redirects) are injected through `/__admin/faults`, and every
 * request is logged, with the headers it carried, at `/__admin/requests`.
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";

export interface Fault {
  /** Which requests: a path prefix, and optionally a page number (GitHub/page-number paging). */
  path: string;
  page?: number;
  /** How many matching requests it affects before it stops (default: all). */
  times?: number;
  status?: number;
  retryAfter?: string;
  /** Answer with a Link to the same page. */
  selfLink?: boolean;
  /** Answer with fewer records than asked for, while still linking to the next page. */
  shortPage?: number;
  /**
   * Answer with a redirect (`status`, default 302) to this path or URL, with the rest of the
   * request's path and its query appended: `{ path: "/moved", redirectTo: "/pages" }` sends
   * `/moved/items?page=2` to `/pages/items?page=2`. Applies before authentication, as a moved
   * resource does.
   */
  redirectTo?: string;
}

export interface Issue {
  id: number;
  number: number;
  title: string;
  state: string;
  updated_at: string;
  [extra: string]: unknown;
}

export interface FakeState {
  issues: Issue[];
  customers: { id: string; object: "customer"; email: string; created: number }[];
  items: { id: number; name: string }[];
  faults: Fault[];
  requests: { method: string; path: string; query: Record<string, string>; headers: Record<string, string>; at: number }[];
  /** The token a request must carry (as `Authorization: Bearer` or `X-Api-Key`); null: any request passes. */
  token: string | null;
  /** The OAuth2 client that `/oauth/token` issues `token` to, by client credentials in Basic auth. */
  client: { id: string; secret: string };
  /** From this page on (GitHub issues), every issue carries a new field, `milestone_title`. */
  newFieldFromPage: number | null;
  hooks: { name: string; body: unknown }[];
}

export function seedIssues(count: number, start = Date.UTC(2026, 0, 1)): Issue[] {
  return Array.from({ length: count }, (_, i) => ({
    id: 1000 + i,
    number: i + 1,
    title: `Issue ${i + 1}`,
    state: i % 4 === 0 ? "closed" : "open",
    updated_at: new Date(start + i * 60_000).toISOString().replace(".000Z", "Z"),
    labels: [{ name: i % 2 ? "bug" : "feature" }],
  }));
}

export function createFakeApi(initial: Partial<FakeState> = {}) {
  const state: FakeState = {
    issues: seedIssues(250),
    customers: Array.from({ length: 230 }, (_, i) => ({
      id: `cus_${String(i).padStart(5, "0")}`,
      object: "customer",
      email: `c${i}@example.com`,
      created: 1_700_000_000 + i,
    })),
    items: Array.from({ length: 95 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` })),
    faults: [],
    requests: [],
    token: "fake-token",
    client: { id: "fake-client", secret: "fake-client-secret" },
    newFieldFromPage: null,
    hooks: [],
    ...initial,
  };
  const app = new Hono();

  app.get("/__admin/requests", (c) => c.json(state.requests));
  // A chat webhook (Slack's incoming-webhook shape): alerts are POSTed here and kept.
  app.post("/__admin/hooks/:name", async (c) => {
    state.hooks.push({ name: c.req.param("name"), body: await c.req.json() });
    return c.text("ok");
  });
  app.get("/__admin/hooks/:name", (c) => c.json(state.hooks.filter((h) => h.name === c.req.param("name")).map((h) => h.body)));
  app.post("/__admin/reset", async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { issues?: number; token?: string | null; newFieldFromPage?: number | null };
    state.issues = seedIssues(body.issues ?? 250);
    state.faults = [];
    state.requests = [];
    state.newFieldFromPage = body.newFieldFromPage ?? null;
    if (body.token !== undefined) state.token = body.token;
    return c.json({ ok: true });
  });
  app.post("/__admin/faults", async (c) => {
    state.faults.push(...((await c.req.json()) as Fault[]));
    return c.json({ faults: state.faults.length });
  });
  app.post("/__admin/touch", async (c) => {
    // Marks issues as edited now, as a user editing them would.
    const { numbers, at } = (await c.req.json()) as { numbers: number[]; at: string };
    for (const issue of state.issues) if (numbers.includes(issue.number)) issue.updated_at = at;
    state.issues.sort((a, b) => a.updated_at.localeCompare(b.updated_at) || a.id - b.id);
    return c.json({ ok: true });
  });

  app.use("*", async (c, next) => {
    if (c.req.path.startsWith("/__admin")) return next();
    state.requests.push({ method: c.req.method, path: c.req.path, query: c.req.query(), headers: c.req.header(), at: Date.now() });
    const page = Number(c.req.query("page") ?? 1);
    const fault = state.faults.find(
      (f) => c.req.path.startsWith(f.path) && (f.page === undefined || f.page === page) && (f.times ?? 1) > 0,
    );
    if (fault?.redirectTo !== undefined) {
      if (fault.times !== undefined) fault.times -= 1;
      return c.redirect(fault.redirectTo + c.req.path.slice(fault.path.length) + new URL(c.req.url).search, (fault.status ?? 302) as 302);
    }
    if (c.req.path === "/oauth/token") return next();
    if (state.token && c.req.header("authorization") !== `Bearer ${state.token}` && c.req.header("x-api-key") !== state.token) {
      return c.json({ message: "Bad credentials" }, 401);
    }
    if (fault?.status) {
      if (fault.times !== undefined) fault.times -= 1;
      if (fault.retryAfter !== undefined) c.header("Retry-After", fault.retryAfter);
      return c.json({ message: `injected ${fault.status}` }, fault.status as 401);
    }
    c.set("fault" as never, fault as never);
    return next();
  });

  // OAuth2 client credentials (RFC 6749 §4.4): the client authenticates with Basic auth.
  app.post("/oauth/token", async (c) => {
    const form = await c.req.parseBody();
    if (c.req.header("authorization") !== `Basic ${btoa(`${state.client.id}:${state.client.secret}`)}`)
      return c.json({ error: "invalid_client" }, 401);
    if (form.grant_type !== "client_credentials") return c.json({ error: "unsupported_grant_type" }, 400);
    return c.json({ access_token: state.token, token_type: "bearer", expires_in: 3600 });
  });

  app.get("/repos/:owner/:repo/issues", (c) => {
    const perPage = Math.min(100, Number(c.req.query("per_page") ?? 30));
    const page = Number(c.req.query("page") ?? 1);
    const since = c.req.query("since");
    const matching = since ? state.issues.filter((i) => i.updated_at >= since) : state.issues;
    const fault = c.get("fault" as never) as Fault | undefined;
    const start = (page - 1) * perPage;
    let slice = matching.slice(start, start + perPage);
    if (fault?.shortPage !== undefined) slice = slice.slice(0, fault.shortPage);
    if (state.newFieldFromPage !== null && page >= state.newFieldFromPage)
      slice = slice.map((i) => ({ ...i, milestone_title: `M${page}` }));
    const url = new URL(c.req.url);
    const link = (p: number, rel: string) => {
      const target = new URL(url);
      target.searchParams.set("page", String(p));
      return `<${target}>; rel="${rel}"`;
    };
    const lastPage = Math.max(1, Math.ceil(matching.length / perPage));
    const links = [];
    if (fault?.selfLink) links.push(link(page, "next"));
    else if (page < lastPage) links.push(link(page + 1, "next"));
    links.push(link(lastPage, "last"));
    c.header("Link", links.join(", "));
    return c.json(slice);
  });

  app.get("/v1/customers", (c) => {
    const limit = Math.min(100, Number(c.req.query("limit") ?? 10));
    const after = c.req.query("starting_after");
    const start = after ? state.customers.findIndex((x) => x.id === after) + 1 : 0;
    const data = state.customers.slice(start, start + limit);
    return c.json({ object: "list", url: "/v1/customers", has_more: start + limit < state.customers.length, data });
  });

  app.get("/offset/items", (c) => {
    const limit = Number(c.req.query("limit") ?? 10);
    const offset = Number(c.req.query("offset") ?? 0);
    return c.json({ items: state.items.slice(offset, offset + limit), total: state.items.length });
  });

  app.get("/pages/items", (c) => {
    const perPage = Number(c.req.query("per_page") ?? 10);
    const page = Number(c.req.query("page") ?? 1);
    return c.json({ items: state.items.slice((page - 1) * perPage, page * perPage), total_pages: Math.ceil(state.items.length / perPage) });
  });

  return { app, state };
}

/** Serves a fake API on a free local port. */
export async function startFakeApi(
  initial: Partial<FakeState> = {},
): Promise<{ url: string; state: FakeState; close: () => Promise<void> }> {
  const { app, state } = createFakeApi(initial);
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        state,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}
