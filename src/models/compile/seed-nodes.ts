/**
 * Seeds. In: the project's CSV files and the compile's inputs. Out: one seed node per file, its
 * data parsed and typed now (so a run never parses CSV), added to the node set.
 */
import { parseSeed } from "../seeds.ts";
import type { CompileInputs } from "./inputs.ts";
import { baseNode, CompileError, fileName, folderConfigs, fqnOf, type NodeSet, ownPath, resolveConfig } from "./nodes.ts";

export function addSeedNodes(nodes: NodeSet, seeds: readonly { path: string; csv: string }[], inputs: CompileInputs): void {
  const { project } = inputs;
  for (const seed of seeds) {
    const name = fileName(seed.path, ".csv");
    const props = inputs.nodeProperties.get(`seeds:${name}`);
    const fqn = fqnOf(project.name, ownPath(inputs, seed.path), "seed-paths", project);
    const config = resolveConfig(seed.path, [...folderConfigs(inputs, "seeds", fqn, seed.path), props?.config ?? {}], {
      materialized: "seed",
    });
    let data: ReturnType<typeof parseSeed>;
    try {
      data = parseSeed(seed.csv, config.column_types ?? {});
    } catch (error) {
      throw new CompileError(`${seed.path}: ${(error as Error).message}`);
    }
    nodes.add({ ...baseNode(project.name, "seed", name, seed.path, config, props), fqn, seed: data });
  }
}
