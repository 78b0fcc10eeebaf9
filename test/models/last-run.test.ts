/**
 * The last-run memo that report cache keys name: within a second it is served from memory, and
 * past half that second it is re-read behind the response (`waitUntil`), one read however many
 * requests arrive, so under steady traffic no request waits on D1 for it.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { forgetLastRuns, lastSuccessfulRun, setLastRunClock } from "../../src/models/last-run.ts";

const uniqueId = "model.sluice.last_run_memo_probe";

async function recordRun(runId: string, finishedAt: string): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO _sluice_model_results (run_id, unique_id, resource_type, status, execution_ms, started_at, finished_at)
     VALUES (?1, ?2, 'model', 'success', 0, ?3, ?3)`,
  )
    .bind(runId, uniqueId, finishedAt)
    .run();
}

afterEach(() => setLastRunClock());

describe("last successful run memo", () => {
  it("re-reads a run past half its second in the background, once, and serves the remembered run meanwhile", async () => {
    let clock = Date.now();
    forgetLastRuns();
    setLastRunClock(() => clock);
    await recordRun("run_memo_1", "2030-01-01T00:00:00.000Z");
    const pending: Promise<unknown>[] = [];
    const options = { waitUntil: (work: Promise<unknown>) => pending.push(work) };

    expect((await lastSuccessfulRun(env.DB, uniqueId, options))?.runId).toBe("run_memo_1");
    await recordRun("run_memo_2", "2030-01-02T00:00:00.000Z");
    clock += 499;
    expect((await lastSuccessfulRun(env.DB, uniqueId, options))?.runId).toBe("run_memo_1");
    expect(pending).toHaveLength(0);

    clock += 1;
    // Half a second old: served as remembered, re-read behind the response; a second request
    // meanwhile starts no other read.
    expect((await lastSuccessfulRun(env.DB, uniqueId, options))?.runId).toBe("run_memo_1");
    expect((await lastSuccessfulRun(env.DB, uniqueId, options))?.runId).toBe("run_memo_1");
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect((await lastSuccessfulRun(env.DB, uniqueId, options))?.runId).toBe("run_memo_2");

    // The re-read counts from when it began: a second after that, nothing is served from memory.
    await recordRun("run_memo_3", "2030-01-03T00:00:00.000Z");
    clock += 1000;
    expect((await lastSuccessfulRun(env.DB, uniqueId))?.runId).toBe("run_memo_3");
  });

  it("without waitUntil, or with no-cache, never serves a run older than a second", async () => {
    let clock = Date.now();
    forgetLastRuns();
    setLastRunClock(() => clock);
    await recordRun("run_plain_1", "2031-01-01T00:00:00.000Z");
    expect((await lastSuccessfulRun(env.DB, uniqueId))?.runId).toBe("run_plain_1");
    await recordRun("run_plain_2", "2031-01-02T00:00:00.000Z");
    clock += 999;
    expect((await lastSuccessfulRun(env.DB, uniqueId))?.runId).toBe("run_plain_1");
    expect((await lastSuccessfulRun(env.DB, uniqueId, { fresh: true }))?.runId).toBe("run_plain_2");
    await recordRun("run_plain_3", "2031-01-03T00:00:00.000Z");
    clock += 1000;
    expect((await lastSuccessfulRun(env.DB, uniqueId))?.runId).toBe("run_plain_3");
  });
});
