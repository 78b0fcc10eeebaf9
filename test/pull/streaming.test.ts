/**
 * Streamed pages: one page task fetches, queues and checkpoints pages in a loop until its budget
 * is spent, then hands the run to a new task. A crash between any two steps of a page (each D1
 * call, queue send and R2 put, before it takes effect or after) neither skips nor repeats a page:
 * the redelivered task resumes from the run's next page, and every page is recorded once.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { SluiceConfigInput } from "../../src/config/schema.ts";
import { FaultInjector } from "../../src/lib/faults.ts";
import type { PageMessage } from "../../src/messages.ts";
import { TaskBudget } from "../../src/pull/budget.ts";
import { handlePage } from "../../src/pull/page.ts";
import { startPull } from "../../src/pull/planner.ts";
import { rows } from "../support/pipeline.ts";
import { fakeApi, pullRuntime, pump } from "../support/pump.ts";

type Budget = { subrequests?: number; cpuMs?: number; wallSeconds?: number };

/** 95 items, 20 a page, paged by number until an empty page: 6 pages. */
const items = (budget: Budget = {}, limits: object = {}): SluiceConfigInput["pulls"] => ({
  paged: {
    kind: "rest",
    baseUrl: { var: "FAKE_API_URL" },
    auth: { type: "bearer", token: "GITHUB_TOKEN" },
    budget,
    limits: { requestsPerSecond: 1000, ...limits },
    resources: {
      items: {
        path: "/pages/items",
        params: { per_page: 20 },
        dataSelector: "items",
        paginator: { type: "page_number" },
        primaryKey: ["id"],
        schedule: "0 * * * *",
      },
    },
  },
});

const lastRun = async () =>
  (await rows<Record<string, unknown>>("SELECT * FROM _sluice_pull_runs WHERE source = 'paged' ORDER BY started_at DESC LIMIT 1"))[0]!;
const itemRequests = async () =>
  ((await fakeApi("/__admin/requests")) as { path: string; query: Record<string, string> }[])
    .filter((r) => r.path === "/pages/items")
    .map((r) => Number(r.query.page));

/** The run's end state when every page was recorded exactly once. */
const completedOnce = async () => {
  expect(await lastRun()).toMatchObject({ status: "completed", pages: 6, records: 95, next_page: null });
  expect(await rows("SELECT count(*) AS n, count(DISTINCT id) AS d FROM raw_paged__items")).toEqual([{ n: 95, d: 95 }]);
  expect(await rows("SELECT count(*) AS n FROM _sluice_pull_seen_urls")).toEqual([{ n: 0 }]);
};

beforeEach(async () => {
  await fakeApi("/__admin/reset", { issues: 250 });
  for (const table of ["_sluice_pull_runs", "_sluice_pull_state", "_sluice_pull_leases", "_sluice_pull_seen_urls"])
    await env.DB.prepare(`DELETE FROM ${table}`).run();
  await env.DB.prepare("DROP TABLE IF EXISTS raw_paged__items").run();
});

describe("streamed pages", () => {
  it("one task pulls every page when the budget allows: no queue hop between pages", async () => {
    const p = pullRuntime(items());
    await startPull(p.runtime, "paged", "items", "manual");
    await pump(p);
    expect(p.pages.map((task) => task.page)).toEqual([1]);
    expect(await itemRequests()).toEqual([1, 2, 3, 4, 5, 6]);
    await completedOnce();
  });

  it("hands the run to a new task when the subrequest budget is spent", async () => {
    // A page costs 3 subrequests (fetch, sendBatch, checkpoint) and 8 are kept back: 3 pages fit in 20.
    const p = pullRuntime(items({ subrequests: 20 }));
    await startPull(p.runtime, "paged", "items", "manual");
    await pump(p);
    expect(p.pages.map((task) => task.page)).toEqual([1, 4]);
    expect(await itemRequests()).toEqual([1, 2, 3, 4, 5, 6]);
    await completedOnce();
  });

  it("hops every page when each page spends the CPU budget", async () => {
    const p = pullRuntime(items({ subrequests: 50, cpuMs: 0.001 }));
    await startPull(p.runtime, "paged", "items", "manual");
    await pump(p);
    expect(p.pages.map((task) => task.page)).toEqual([1, 2, 3, 4, 5, 6]);
    await completedOnce();
  });

  it("estimates a page's CPU from its bytes when the clock shows none (as deployed), and keeps to the wall time", () => {
    const budget = new TaskBudget({ subrequests: 1000, cpuMs: 100, wallSeconds: 10 }, 1, 0);
    budget.pageDone({ subrequests: 3, busyMs: 0, bodyBytes: 1_000_000 }, 0);
    expect(budget.spent(0)).toEqual({ pages: 1, subrequests: 4, cpuMs: 40, wallMs: 0 });
    expect(budget.roomFor(1, 0)).toBe(true); // 40 + 40 ms ≤ 100
    expect(budget.roomFor(2, 0)).toBe(false); // 40 + 80 ms > 100
    expect(budget.roomFor(1, 10_001)).toBe(false); // past 10 s of wall time
    budget.startPage(0);
    budget.pageDone({ subrequests: 3, busyMs: 70, bodyBytes: 1_000 }, 2_000); // a measured busy time counts when larger
    expect(budget.spent(2_000)).toEqual({ pages: 2, subrequests: 7, cpuMs: 110, wallMs: 2_000 });
    expect(budget.roomFor(1, 2_000)).toBe(false);
  });

  it("counts maxPagesPerRun across tasks, from the run's seen URLs", async () => {
    const p = pullRuntime(items({ subrequests: 10 }, { maxPagesPerRun: 2 }));
    await startPull(p.runtime, "paged", "items", "manual");
    await pump(p);
    // The second task read page 1's URL from the rows, and stops before page 3.
    expect(p.pages.map((task) => task.page)).toEqual([1, 2]);
    expect(await lastRun()).toMatchObject({ status: "failed", pages: 2, error: "stopped after 2 pages (limits.maxPagesPerRun)" });
    expect(await rows("SELECT count(*) AS n FROM _sluice_pull_seen_urls")).toEqual([{ n: 0 }]);
  });

  it("a 5xx on a later page retries that page as a task of its own, with its own retry count", async () => {
    await fakeApi("/__admin/faults", [{ path: "/pages/items", page: 3, status: 500, times: 2 }]);
    const p = pullRuntime(items());
    await startPull(p.runtime, "paged", "items", "manual");
    await pump(p);
    // The first task stops at page 3 and sends it on with a delay; that task is retried once more.
    expect(p.pages.map((task) => task.page)).toEqual([1, 3, 3]);
    expect(p.delays).toHaveLength(2);
    await completedOnce();
  });

  it("a task whose run is ahead (an earlier delivery checkpointed pages, then died) carries on from the run's next page", async () => {
    const p = pullRuntime(items());
    await startPull(p.runtime, "paged", "items", "manual");
    const [first] = p.pull.take() as PageMessage[];
    // Pages 1 and 2 are recorded by a delivery that then stops before sending anything on.
    const partial = pullRuntime(items({ subrequests: 17 }));
    await handlePage(partial.runtime, first!, 1);
    expect(partial.pull.take()).toHaveLength(1); // the hop it sent is lost
    expect(await lastRun()).toMatchObject({ status: "running", pages: 2 });
    // The first task is delivered again: it resumes at page 3 instead of stopping.
    p.pull.pending.push(first!);
    p.ingest.pending.push(...partial.ingest.take());
    await pump(p);
    expect(await itemRequests()).toEqual([1, 2, 3, 4, 5, 6]);
    await completedOnce();
  });

  it("two deliveries of the same task at once record every page once", async () => {
    const p = pullRuntime(items());
    await startPull(p.runtime, "paged", "items", "manual");
    const [task] = p.pull.take() as PageMessage[];
    await Promise.all([handlePage(p.runtime, task!, 1), handlePage(p.runtime, task!, 1)]);
    await pump(p);
    await completedOnce();
  });
});

/**
 * Bindings whose `step`-th call (D1 statement or batch, queue send, R2 put, counted from the
 * task's first) throws, before it takes effect or after: where a Worker can die.
 */
const crashingAt = (step: number, when: "before" | "after") => (bindings: Env) => {
  let calls = 0;
  let failing = false;
  // FaultInjector asks once per call whether to fail (any value < 1 fails), then before or after (< 0.5 is after).
  const random = () => {
    if (failing) {
      failing = false;
      return when === "after" ? 0 : 0.9;
    }
    calls += 1;
    failing = calls === step;
    return failing ? 0 : 1;
  };
  return new FaultInjector({ d1: 1, r2: 1, queue: 1, consumer: 0 }, random).wrap(bindings);
};

describe("a crash between any two steps of a page", () => {
  // Three pages a task (20 subrequests), so the steps include hops to new tasks.
  const budget = { subrequests: 20 };

  it.each(["before", "after"] as const)(
    "a call that fails %s it takes effect, at every step of a run, neither skips nor repeats a page",
    async (when) => {
      // Count the steps of a clean run first.
      let steps = 0;
      const counted = pullRuntime(items(budget), (bindings) => {
        const counting = new FaultInjector({ d1: 1, r2: 1, queue: 1, consumer: 0 }, () => {
          steps += 1;
          return 1;
        });
        return counting.wrap(bindings);
      });
      await startPull(counted.loader, "paged", "items", "manual");
      await pump(counted);
      await completedOnce();
      expect(steps).toBeGreaterThan(12);

      for (let step = 1; step <= steps; step++) {
        for (const table of ["_sluice_pull_runs", "_sluice_pull_state", "_sluice_pull_leases", "_sluice_pull_seen_urls"])
          await env.DB.prepare(`DELETE FROM ${table}`).run();
        await env.DB.prepare("DROP TABLE IF EXISTS raw_paged__items").run();
        const p = pullRuntime(items(budget), crashingAt(step, when));
        await startPull(p.loader, "paged", "items", "manual");
        await pump(p, { redeliverOnThrow: true });
        await expect(completedOnce(), `a crash ${when} step ${step} of ${steps}`).resolves.toBeUndefined();
      }
    },
    240_000,
  );
});
