/**
 * Anomaly tests (`sluice.volume_anomalies`, `elementary.column_anomalies`, …) as test nodes. In: a
 * test entry of properties YAML, its arguments and config. Out: its spec and its metric SQL; a
 * bad argument is a CompileError naming the file and the line of the argument.
 */
import {
  AnomalyArgumentError,
  type AnomalySpec,
  type AnomalyTestName,
  anomalyMetricSql,
  anomalySpec,
} from "../../quality/anomaly-tests.ts";
import type { ManifestNode } from "../manifest-schema.ts";
import type { TestEntry } from "../properties.ts";
import type { CompileInputs } from "./inputs.ts";
import { CompileError } from "./nodes.ts";
import { Located } from "./unsupported.ts";

export function anomalyTest(
  inputs: CompileInputs,
  path: string,
  entry: TestEntry,
  name: string,
  test: AnomalyTestName,
  target: { relation: string; name: string },
  args: Record<string, unknown>,
  config: ManifestNode["config"],
): { spec: AnomalySpec; sql: string } {
  const fail = (key: string | undefined, message: string): never => {
    const file = inputs.properties.find((p) => p.path === path);
    const keys = file ? keyPath(file.file, entry) : undefined;
    let at = path;
    if (file && keys) {
      const located = new Located(path, file.yaml);
      const spec = (typeof entry === "object" ? entry[name] : undefined) as Record<string, unknown> | undefined;
      const nested = spec?.arguments && typeof spec.arguments === "object" && key !== undefined && key in spec.arguments;
      at = located.at(key === undefined ? [...keys, name] : [...keys, name, ...(nested ? ["arguments"] : []), key]);
      if (at === path) at = located.at(keys);
    }
    throw new CompileError(`${at}: ${name} on ${target.name}: ${message}`);
  };
  if (config.store_failures || config.store_failures_as)
    fail(undefined, "store_failures does not apply to anomaly tests (their result lists the anomalous buckets)");
  try {
    const spec = anomalySpec(test, args);
    return { spec, sql: anomalyMetricSql(spec, target.relation, config.where) };
  } catch (error) {
    if (error instanceof AnomalyArgumentError) return fail(error.key, error.message);
    throw error;
  }
}

/** The keys that lead from `root` to `target` (found by identity), for its line in the YAML. */
function keyPath(root: unknown, target: unknown, path: (string | number)[] = []): (string | number)[] | undefined {
  if (root === target) return path;
  if (root === null || typeof root !== "object") return undefined;
  for (const [key, value] of Object.entries(root)) {
    const found = keyPath(value, target, [...path, Array.isArray(root) ? Number(key) : key]);
    if (found) return found;
  }
  return undefined;
}
