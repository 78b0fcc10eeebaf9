/**
 * What `result:` and `state:` selection compare with, kept in D1. In: the bundled manifest and the
 * run. Out: each node's latest result in an earlier run, and digests of the nodes of this
 * deploy's manifest and of the previous one. Every new run records its manifest (digests of each
 * node's body, configs and relation, under a hash of them all) the first time it runs and stamps
 * it on later runs, so "the previous deploy" is the other manifest that ran most recently; the
 * last few are kept.
 */
import { desc, eq, inArray, ne } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { modelDeploys } from "../db/schema.ts";
import { sha256Hex, shortHash } from "../lib/crypto.ts";
import type { Manifest, ManifestNode } from "./manifest-schema.ts";
import type { NodeDigest, SelectionState } from "./selection.ts";

/** Manifests kept for comparison, besides the one running. */
const keptDeploys = 5;

const digested = new WeakMap<Manifest, Promise<{ hash: string; nodes: Record<string, [string, string, string]> }>>();

/** JSON with sorted keys, so equal configs digest alike however they were written. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  return JSON.stringify(value) ?? "null";
}

function digestManifest(manifest: Manifest) {
  let digest = digested.get(manifest);
  if (!digest) {
    digest = (async () => {
      const nodes: Record<string, [string, string, string]> = {};
      const body = (node: ManifestNode) => (node.seed ? canonical(node.seed) : node.unitTest ? canonical(node.unitTest) : node.rawSql);
      for (const node of manifest.nodes) nodes[node.uniqueId] = [shortHash(body(node)), shortHash(canonical(node.config)), node.relation];
      return { hash: await sha256Hex(canonical(nodes)), nodes };
    })();
    digested.set(manifest, digest);
  }
  return digest;
}

/** Records that this manifest ran now: a new row the first time, a fresh stamp after. */
export async function recordDeploy(db: D1Database, manifest: Manifest, now: Date): Promise<void> {
  const { hash, nodes } = await digestManifest(manifest);
  const orm = drizzle(db);
  const at = now.toISOString();
  const stamped = await orm.update(modelDeploys).set({ lastRunAt: at }).where(eq(modelDeploys.hash, hash));
  if (stamped.meta.changes > 0) return;
  await orm.insert(modelDeploys).values({ hash, nodes, firstRunAt: at, lastRunAt: at }).onConflictDoNothing();
  const stale = await orm
    .select({ hash: modelDeploys.hash })
    .from(modelDeploys)
    .orderBy(desc(modelDeploys.lastRunAt))
    .limit(100)
    .offset(keptDeploys + 1);
  if (stale.length > 0)
    await orm.delete(modelDeploys).where(
      inArray(
        modelDeploys.hash,
        stale.map((s) => s.hash),
      ),
    );
}

const toDigests = (nodes: Record<string, [string, string, string]>) =>
  new Map<string, NodeDigest>(Object.entries(nodes).map(([id, [body, configs, relation]]) => [id, { body, configs, relation }]));

/** What the selection compares with; only the parts it asked for are read. */
export async function selectionState(
  db: D1Database,
  manifest: Manifest,
  runId: string,
  needs: { results: boolean; state: boolean },
): Promise<SelectionState> {
  const state: SelectionState = {};
  if (needs.results) {
    // SQLite takes the bare column from the row holding the max: each node's latest result.
    const latest = await db
      .prepare("SELECT unique_id, status, max(finished_at) AS at FROM _sluice_model_results WHERE run_id != ?1 GROUP BY unique_id")
      .bind(runId)
      .all<{ unique_id: string; status: string }>();
    state.results = new Map(latest.results.map((r) => [r.unique_id, r.status]));
  }
  if (needs.state) {
    const { hash, nodes } = await digestManifest(manifest);
    const [previous] = await drizzle(db)
      .select({ nodes: modelDeploys.nodes })
      .from(modelDeploys)
      .where(ne(modelDeploys.hash, hash))
      .orderBy(desc(modelDeploys.lastRunAt))
      .limit(1);
    state.current = toDigests(nodes);
    state.previous = previous ? toDigests(previous.nodes) : undefined;
  }
  return state;
}
