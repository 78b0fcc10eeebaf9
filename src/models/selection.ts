/** Which manifest nodes a run covers: dbt's selection syntax (select.ts) over the manifest's nodes. */
import { SluiceError } from "../lib/errors.ts";
import type { Manifest } from "./project.ts";
import { SelectionError, selectNodes } from "./select.ts";

export function selectedIds(manifest: Manifest, select?: readonly string[], exclude?: readonly string[]): Set<string> {
  const nodes = manifest.nodes.map((node) => ({ ...node, tags: node.config.tags, config: node.config as Record<string, unknown> }));
  try {
    return selectNodes(nodes, { ...(select ? { select } : {}), ...(exclude ? { exclude } : {}) });
  } catch (error) {
    if (error instanceof SelectionError) throw new SluiceError("bad_request", error.message);
    throw error;
  }
}
