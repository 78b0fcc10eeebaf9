/**
 * Running a data test as dbt's `test` materialization does. In: the test node and its compiled
 * query (which returns the failing rows). Out: the failure count and dbt's status: `fail` when the
 * severity is error and the count meets `error_if`, else `warn` when it meets `warn_if`, else
 * `pass` (both default to `!=0`). `limit` caps the rows counted. With `store_failures` (or
 * `store_failures_as: table|view`) the failing rows are kept in the node's audit relation, which
 * the result names. An anomaly test (`node.test.anomaly`) counts the anomalous buckets of its
 * detection period, and lists them; every bucket it judged is stored under its monitors
 * (ops/test-monitors.ts), for charts.
 */
import { quoteIdent } from "../lib/sql.ts";
import { recordTestMonitors } from "../ops/test-monitors.ts";
import type { BucketAnomaly } from "../quality/anomaly-tests.ts";
import { runAnomalyTest } from "../quality/run-anomaly-test.ts";
import type { ManifestNode } from "./manifest-schema.ts";
import { materializeTable, materializeView } from "./materialize.ts";
import { defaultThreshold, parseThreshold } from "./test-thresholds.ts";

export interface TestOutcome {
  status: "pass" | "warn" | "fail";
  failures: number;
  message: string | null;
  /** The relation holding the failing rows, when the test stores them. */
  relationName: string | null;
  /** An anomaly test's flagged buckets. */
  anomalies?: BucketAnomaly[];
}

/** Where a test keeps its failing rows; anything else runs the query without storing. */
export function storesFailures(config: ManifestNode["config"]): "table" | "view" | undefined {
  const as = config.store_failures_as ?? (config.store_failures ? "table" : undefined);
  return as === "table" || as === "view" ? as : undefined;
}

export async function runDataTest(db: D1Database, node: ManifestNode, sql: string, nowMs = Date.now()): Promise<TestOutcome> {
  if (node.test?.anomaly) {
    const { failures, anomalies, series } = await runAnomalyTest(db, node.test.anomaly, sql, nowMs);
    await recordTestMonitors(db, node, series, new Date(nowMs));
    return { ...judgeFailures(node, failures), relationName: null, anomalies };
  }
  const store = storesFailures(node.config);
  let main = sql;
  if (store === "table") await materializeTable(db, node.relation, sql);
  if (store === "view") await materializeView(db, node.relation, sql);
  if (store) main = `select * from ${quoteIdent(node.relation)}`;
  // The query on lines of its own, so a trailing `--` comment ends before the wrapper does.
  const limit = node.config.limit === undefined ? "" : `\nlimit ${node.config.limit}`;
  const counted = `select ${node.config.fail_calc ?? "count(*)"} as failures from (\n${main}${limit}\n) as dbt_internal_test`;
  const failures = Number((await db.prepare(counted).first<number>("failures")) ?? 0);
  return { ...judgeFailures(node, failures), relationName: store ? node.relation : null };
}

/** dbt's status for a failure count: the severity, `error_if` and `warn_if`. */
function judgeFailures(node: ManifestNode, failures: number): Omit<TestOutcome, "relationName"> {
  const warnIf = node.config.warn_if ?? defaultThreshold;
  const errorIf = node.config.error_if ?? defaultThreshold;
  const meets = (condition: string) => {
    const test = parseThreshold(condition);
    if (!test) throw new Error(`cannot read the test threshold "${condition}"; write a comparison such as ">10" or "!=0"`);
    return test(failures);
  };
  const status = node.config.severity === "error" && meets(errorIf) ? "fail" : meets(warnIf) ? "warn" : "pass";
  const message =
    status === "pass"
      ? null
      : `Got ${failures} result${failures === 1 ? "" : "s"}, configured to ${status} if ${status === "fail" ? errorIf : warnIf}`;
  return { status, failures, message };
}
