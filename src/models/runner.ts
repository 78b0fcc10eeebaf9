/**
 * The model runner, dbt's `build`: the bundled manifest in, materialized relations and a run
 * record out. Nodes run in the manifest's order (seeds, models, tests, each after its parents and
 * after the tests of its parents). A node whose parent failed, or one of whose parents failed an
 * error-severity test, is skipped rather than built over bad data. Every run writes
 * `_sluice_model_runs`, and every node `_sluice_model_results`, in the shape of run_results.
 * A run is a state machine in D1: each node's result is stored as it finishes, and a run that
 * outlives its invocation's budget continues in the next one (a `model_run` message), skipping
 * the nodes already done.
 */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { declaredColumns } from "../config/columns.ts";
import { type SluiceConfig, streamConfig } from "../config/index.ts";
import { addLoadSeqSql, createTableSql, loadSeqColumn, loadSeqIndexSql } from "../db/raw-tables.ts";
import { modelResults, modelRuns } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { toSluiceError } from "../lib/errors.ts";
import { newRunId } from "../lib/ids.ts";
import { sendMessage } from "../messages.ts";
import { openIncident, resolveIncident } from "../ops/incidents.ts";
import { testFailureIncident } from "../ops/monitor-incidents.ts";
import { counterInsert } from "../ops/rollups.ts";
import type { BucketAnomaly } from "../quality/anomaly-tests.ts";
import { type CompileOptions, compileNode, renderHook } from "./compile-node.ts";
import { checkFreshness } from "./freshness.ts";
import { runHookSql } from "./hooks.ts";
import { materializeIncremental } from "./incremental.ts";
import { forgetLastRuns } from "./last-run.ts";
import { getManifest, type Manifest, type ModelNode, manifestFor } from "./manifest.ts";
import { isTestNode } from "./manifest-schema.ts";
import { indexStatements, materializeSeed, materializeTable, materializeView, relationType } from "./materialize.ts";
import { materializeMicrobatch } from "./microbatch.ts";
import { type SelectionState, selectedIds, selectionNeeds } from "./selection.ts";
import { materializeSnapshot } from "./snapshot.ts";
import { recordDeploy, selectionState } from "./state.ts";
import { runDataTest } from "./test-run.ts";
import { runUnitTest } from "./unit-test-run.ts";

export type Command = "build" | "run" | "test" | "seed";

type RunArgs = {
  command: Command;
  select: string[];
  exclude: string[];
  /** A selector of selectors.yml. */
  selector?: string;
  full_refresh: boolean;
  trigger: "cron" | "manual";
  /** The run's vars (`--vars`): kept so a run that continues in a later invocation uses them. */
  vars?: Record<string, unknown>;
};

export interface RunOptions {
  /** Continue this run where it stopped, with the selection it started with. */
  resumeRunId?: string;
  /** Wall-clock budget of this invocation; the rest of the run continues in another. */
  budgetMs?: number;
  trigger: "cron" | "manual";
  cron?: string;
  manifest?: Manifest;
  command?: Command;
  select?: string[];
  exclude?: string[];
  selector?: string;
  fullRefresh?: boolean;
  /** Vars for this run, as dbt's `--vars`: the project is compiled again with them. */
  vars?: Record<string, unknown>;
}

export type NodeStatus = "success" | "error" | "skipped" | "pass" | "fail" | "warn";

export interface NodeResult {
  uniqueId: string;
  /** `operation`: an on-run-start or on-run-end hook. */
  resourceType: ModelNode["resourceType"] | "operation";
  status: NodeStatus;
  executionMs: number;
  rowsAffected: number | null;
  failures: number | null;
  message: string | null;
  /** Where a test stored its failing rows (dbt's `relation_name`). */
  relationName?: string | null;
  /** An anomaly test's flagged buckets. */
  anomalies?: BucketAnomaly[] | null;
}

export interface RunSummary {
  runId: string;
  /** `running` when the run continues in another invocation. */
  status: "success" | "error" | "running";
  finished: boolean;
  elapsedMs: number;
  results: NodeResult[];
}

const commandTypes: Record<Command, ModelNode["resourceType"][]> = {
  build: ["seed", "model", "snapshot", "test", "unit_test"],
  run: ["model"],
  test: ["test", "unit_test"],
  seed: ["seed"],
};

/** Wall-clock time one invocation spends on a run before handing the rest to the next one. */
export const defaultBudgetMs = 5 * 60_000;

export async function runModels(runtime: Runtime, options: RunOptions): Promise<RunSummary> {
  const db = drizzle(runtime.env.DB);
  const log = runtime.log.child({ component: "models" });
  const invocationStarted = Date.now();

  let runId: string;
  let startedAt: string;
  let args: RunArgs;
  const done = new Map<string, NodeResult>();
  let state: SelectionState | undefined;
  let manifest: Manifest;
  if (options.resumeRunId) {
    const [run] = await db.select().from(modelRuns).where(eq(modelRuns.runId, options.resumeRunId));
    if (run?.status !== "running") {
      log.info("models.resume_skipped", { runId: options.resumeRunId, status: run?.status ?? null });
      return {
        runId: options.resumeRunId,
        status: run?.status === "success" ? "success" : "error",
        elapsedMs: run?.elapsedMs ?? 0,
        results: [],
        finished: true,
      };
    }
    ({ runId, startedAt } = run);
    args = run.args as unknown as RunArgs;
    manifest = options.manifest ?? (await manifestFor(args.vars));
    const stored = await db.select().from(modelResults).where(eq(modelResults.runId, runId));
    for (const row of stored)
      done.set(row.uniqueId, {
        uniqueId: row.uniqueId,
        resourceType: row.resourceType,
        status: row.status,
        executionMs: row.executionMs,
        rowsAffected: row.rowsAffected,
        failures: row.failures,
        message: row.message,
        relationName: row.relationName,
        anomalies: row.anomalies,
      });
  } else {
    runId = newRunId(invocationStarted);
    startedAt = new Date(invocationStarted).toISOString();
    args = {
      command: options.command ?? "build",
      select: options.select ?? [],
      exclude: options.exclude ?? [],
      ...(options.selector === undefined ? {} : { selector: options.selector }),
      full_refresh: options.fullRefresh === true,
      trigger: options.trigger,
      ...(options.vars && Object.keys(options.vars).length > 0 ? { vars: options.vars } : {}),
    };
    manifest = options.manifest ?? (await manifestFor(args.vars));
    // The deploy is the bundled project; a run's own vars do not make its nodes "modified".
    await recordDeploy(runtime.env.DB, options.manifest ?? getManifest(), new Date(invocationStarted));
    // A malformed selection, an unknown selector or a state: with nothing to compare is refused before the run is recorded.
    state = await selectionState(runtime.env.DB, manifest, runId, selectionNeeds(manifest, args));
    selectedIds(manifest, args, state);
    await db
      .insert(modelRuns)
      .values({ runId, trigger: options.trigger, cron: options.cron ?? null, status: "running", startedAt, args: { ...args } });
    await ensureSourceTables(runtime.env.DB, runtime.config, manifest);
    if (args.command === "build") {
      // A stale source is reported, not fatal: models still build over what has landed.
      await checkFreshness(runtime, manifest, new Date(invocationStarted)).catch((error: unknown) =>
        log.error("freshness.failed", { error }),
      );
    }
  }

  state ??= await selectionState(runtime.env.DB, manifest, runId, selectionNeeds(manifest, args));
  const chosen = selectedIds(manifest, args, state);
  const types = commandTypes[args.command];
  const deadline = invocationStarted + (options.budgetMs ?? defaultBudgetMs);
  /** Nodes that did not succeed (to the node to blame): their children are skipped. */
  const failed = new Map<string, string>();
  /** Nodes with a failed error-severity test (to the node tested): children skip, other tests run. */
  const untrusted = new Map<string, string>();
  /** The parents of each failed test, by the node it blames: as in dbt, it holds back only a node downstream of all of them. */
  const failedTests = new Map<string, string[][]>();
  const byId = new Map(manifest.nodes.map((n) => [n.uniqueId, n]));
  /** Each model's unit tests: a model whose unit test did not pass is skipped, and so is all downstream. */
  const unitTestsOf = new Map<string, string[]>();
  for (const node of manifest.nodes)
    if (node.resourceType === "unit_test")
      unitTestsOf.set(node.dependsOn.nodes[0]!, [...(unitTestsOf.get(node.dependsOn.nodes[0]!) ?? []), node.uniqueId]);
  /** What a node waits on: a unit test, its model's parents; any other node, its parents and its unit tests. */
  const upstream = (node: ModelNode) =>
    node.resourceType === "unit_test"
      ? (byId.get(node.dependsOn.nodes[0]!)?.dependsOn.nodes ?? [])
      : [...node.dependsOn.nodes, ...(unitTestsOf.get(node.uniqueId) ?? [])];
  const ancestors = new Map<string, Set<string>>();
  const upstreamOf = (id: string): Set<string> => {
    let found = ancestors.get(id);
    if (found) return found;
    found = new Set<string>();
    ancestors.set(id, found);
    for (const parent of byId.get(id)?.dependsOn.nodes ?? []) {
      found.add(parent);
      for (const above of upstreamOf(parent)) found.add(above);
    }
    return found;
  };
  const holdsBack = (parent: string, node: ModelNode) =>
    untrusted.has(parent) &&
    (failedTests.get(untrusted.get(parent)!) ?? []).some((parents) => parents.every((p) => upstreamOf(node.uniqueId).has(p)));
  const results: NodeResult[] = [];
  let ranHere = 0;

  // Each result is stored as it finishes: it is the run's progress, should it be interrupted.
  // With its metric counters, in one transaction, counted only if this insert stored it.
  const record = async (result: NodeResult, started: Date) => {
    await db.batch([
      db
        .insert(modelResults)
        .values({ runId, ...result, startedAt: started.toISOString(), finishedAt: new Date().toISOString() })
        .onConflictDoNothing(),
      counterInsert(
        db,
        [
          { metric: "sluice_model_results_total", labels: { resource_type: result.resourceType, status: result.status }, value: 1 },
          ...(isTestNode(result) && (result.failures ?? 0) > 0
            ? [{ metric: "sluice_test_failures_total" as const, labels: {}, value: result.failures! }]
            : []),
        ],
        { ifChanged: true },
      ),
    ]);
    forgetLastRuns();
    log[result.status === "error" || result.status === "fail" ? "error" : "info"]("model.finished", { runId, ...result });
  };
  /** Runs on-run-start or on-run-end hooks, one result each; false once one fails (the rest do not run). */
  const runProjectHooks = async (which: "on-run-start" | "on-run-end"): Promise<boolean> => {
    const hooks = (which === "on-run-start" ? manifest.hooks?.onRunStart : manifest.hooks?.onRunEnd) ?? [];
    for (const [i, hook] of hooks.entries()) {
      const started = new Date();
      const result = await runProjectHook(runtime.env.DB, manifest, which, i, hook, args.vars ?? {});
      await record(result, started);
      results.push(result);
      if (result.status === "error") return false;
    }
    return true;
  };

  // on-run-start runs once, when the run starts: not again when it continues in a later invocation.
  const started = options.resumeRunId ? true : await runProjectHooks("on-run-start");

  for (const node of started ? manifest.nodes : []) {
    if (node.config.materialized === "ephemeral") {
      // Never built, but inlined into its children: they inherit its parents' troubles.
      const failedParent = upstream(node).find((parent) => failed.has(parent));
      if (failedParent) failed.set(node.uniqueId, failed.get(failedParent)!);
      const untrustedParent = node.dependsOn.nodes.find((parent) => untrusted.has(parent));
      if (untrustedParent) untrusted.set(node.uniqueId, untrusted.get(untrustedParent)!);
      continue;
    }
    if (!node.config.enabled || !chosen.has(node.uniqueId) || !types.includes(node.resourceType)) continue;
    const blockedBy =
      upstream(node).find((parent) => failed.has(parent)) ??
      (isTestNode(node) ? undefined : node.dependsOn.nodes.find((parent) => holdsBack(parent, node)));

    let result = done.get(node.uniqueId);
    if (!result) {
      // Out of time: the next invocation picks the run up here, redoing nothing finished.
      if (ranHere > 0 && Date.now() >= deadline) {
        await sendMessage(runtime.env.INGEST, { v: 1, kind: "model_run", runId });
        log.info("models.run_continued", { runId, done: done.size + ranHere });
        return { runId, status: "running", elapsedMs: Date.now() - Date.parse(startedAt), results, finished: false };
      }
      const nodeStarted = new Date();
      if (blockedBy !== undefined) {
        const message = failed.has(blockedBy)
          ? `skipped: upstream ${failed.get(blockedBy)} did not succeed`
          : `skipped: upstream ${untrusted.get(blockedBy)} failed a test`;
        result = {
          uniqueId: node.uniqueId,
          resourceType: node.resourceType,
          status: "skipped",
          executionMs: 0,
          rowsAffected: null,
          failures: null,
          message,
        };
      } else {
        result = await runNode(runtime.env.DB, manifest, node, args.full_refresh, args.vars ?? {}, runtime.env);
      }
      ranHere += 1;
      await record(result, nodeStarted);
    }
    if (result.status === "error" || (result.status === "fail" && node.resourceType === "unit_test"))
      failed.set(node.uniqueId, node.uniqueId);
    if (result.status === "skipped")
      failed.set(node.uniqueId, (blockedBy && (failed.get(blockedBy) ?? untrusted.get(blockedBy))) ?? blockedBy ?? node.uniqueId);
    if (result.status === "fail" && node.resourceType === "test")
      for (const parent of node.dependsOn.nodes) {
        untrusted.set(parent, parent);
        failedTests.set(parent, [...(failedTests.get(parent) ?? []), node.dependsOn.nodes]);
      }
    results.push(result);
  }

  if (started) await runProjectHooks("on-run-end");
  const finished = new Date();
  const status = results.some((r) => r.status === "error" || r.status === "fail" || r.status === "skipped") ? "error" : "success";
  const elapsedMs = finished.getTime() - Date.parse(startedAt);
  await db.update(modelRuns).set({ status, finishedAt: finished.toISOString(), elapsedMs }).where(eq(modelRuns.runId, runId));
  log.info("models.run_finished", { runId, status, elapsedMs, nodes: results.length });
  for (const result of results.filter(isTestNode)) {
    if (result.status === "fail")
      await openIncident(runtime, testFailureIncident(result.uniqueId, result.message ?? "the test failed", result.anomalies ?? []));
    else if (result.status === "pass") await resolveIncident(runtime, "test_failed", result.uniqueId, "the test passes again");
  }
  return { runId, status, elapsedMs, results, finished: true };
}

async function runNode(
  db: D1Database,
  manifest: Manifest,
  node: ModelNode,
  fullRefresh: boolean,
  vars: Record<string, unknown>,
  env: object,
): Promise<NodeResult> {
  const started = Date.now();
  const options: CompileOptions = { db, fullRefresh, vars, env: env as Record<string, unknown> };
  const base = { uniqueId: node.uniqueId, resourceType: node.resourceType };
  try {
    if (node.resourceType === "unit_test") {
      const { status, failures, message } = await runUnitTest(db, manifest, node, vars);
      return { ...base, status, executionMs: Date.now() - started, rowsAffected: null, failures, message };
    }
    if (node.resourceType === "test") {
      const { status, failures, message, relationName, anomalies } = await runDataTest(
        db,
        node,
        await compileNode(manifest, node, options),
      );
      return {
        ...base,
        status,
        executionMs: Date.now() - started,
        rowsAffected: null,
        failures,
        message,
        relationName,
        ...(anomalies ? { anomalies } : {}),
      };
    }
    // A model with full_refresh: false stays incremental on a --full-refresh run; true always rebuilds.
    const full = node.config.full_refresh ?? fullRefresh;
    // dbt's is_incremental(): the relation exists, is a table, and this is no full refresh.
    const incremental = node.config.materialized === "incremental" && !full && (await relationType(db, node.relation)) === "table";
    const hooks = (list: string[] | undefined) =>
      Promise.all((list ?? []).map((hook) => renderHook(manifest, hook, node, { ...options, isIncremental: incremental })));
    await runHookSql(db, await hooks(node.config.pre_hook), "pre-hook");
    let rowsAffected: number | null;
    switch (node.config.materialized) {
      case "seed":
        ({ rowsAffected } = await materializeSeed(db, node));
        break;
      case "view":
        ({ rowsAffected } = await materializeView(db, node.relation, await compileNode(manifest, node, options)));
        break;
      case "snapshot":
        ({ rowsAffected } = await materializeSnapshot(db, node, await compileNode(manifest, node, options)));
        break;
      case "incremental": {
        if (node.config.incremental_strategy === "microbatch") {
          ({ rowsAffected } = await materializeMicrobatch(db, manifest, node, incremental, options));
          break;
        }
        const sql = await compileNode(manifest, node, { ...options, isIncremental: incremental });
        if (incremental) ({ rowsAffected } = await materializeIncremental(db, node, sql));
        else ({ rowsAffected } = await materializeTable(db, node.relation, sql, indexStatements(node), node.contract));
        break;
      }
      default:
        ({ rowsAffected } = await materializeTable(
          db,
          node.relation,
          await compileNode(manifest, node, options),
          indexStatements(node),
          node.contract,
        ));
    }
    await runHookSql(db, await hooks(node.config.post_hook), "post-hook");
    return { ...base, status: "success", executionMs: Date.now() - started, rowsAffected, failures: null, message: null };
  } catch (error) {
    const failure = toSluiceError(error, "model_failed");
    return { ...base, status: "error", executionMs: Date.now() - started, rowsAffected: null, failures: null, message: failure.message };
  }
}

/** One on-run-start or on-run-end hook, rendered with the project's context, as dbt's `operation` result. */
async function runProjectHook(
  db: D1Database,
  manifest: Manifest,
  which: "on-run-start" | "on-run-end",
  index: number,
  hook: string,
  vars: Record<string, unknown>,
): Promise<NodeResult> {
  const started = Date.now();
  const base = {
    uniqueId: `operation.${manifest.project}.${manifest.project}-${which}-${index}`,
    resourceType: "operation" as const,
    rowsAffected: null,
    failures: null,
  };
  try {
    await runHookSql(db, [await renderHook(manifest, hook, undefined, { db, vars })], `${which} hook ${index}`);
    return { ...base, status: "success", executionMs: Date.now() - started, message: null };
  } catch (error) {
    return { ...base, status: "error", executionMs: Date.now() - started, message: toSluiceError(error, "model_failed").message };
  }
}

/**
 * Creates the raw tables that models read, with their declared columns, if no record has landed
 * yet, so that a model over a quiet source builds empty instead of failing on a missing table.
 * A table without the load-order column (created by a Sluice that had none) gets it, as the
 * loader would, so models that read `_sluice_load_seq` build even over a source that has loaded
 * nothing since.
 */
async function ensureSourceTables(db: D1Database, config: SluiceConfig, manifest: Manifest): Promise<void> {
  const statements = new Map<string, string>();
  for (const node of manifest.nodes) {
    for (const { source, table } of node.dependsOn.sources) {
      const stream = streamConfig(config, source, table);
      if (!stream) continue;
      const name = manifest.sources.find((s) => s.source === source && s.table === table)?.relation ?? `raw_${source}__${table}`;
      statements.set(name, createTableSql(name, stream.disposition, declaredColumns(stream)));
    }
  }
  if (statements.size === 0) return;
  await db.batch([...statements.values()].map((sql) => db.prepare(sql)));
  const names = [...statements.keys()];
  const found = await db.batch(
    names.map((name) => db.prepare("SELECT count(*) AS n FROM pragma_table_info(?1) WHERE name = ?2").bind(name, loadSeqColumn)),
  );
  const upgrades = names.filter((_, i) => (found[i]!.results[0] as { n: number }).n === 0);
  if (upgrades.length === 0) return;
  await db.batch(upgrades.flatMap((name) => [addLoadSeqSql(name), loadSeqIndexSql(name)]).map((sql) => db.prepare(sql)));
}
