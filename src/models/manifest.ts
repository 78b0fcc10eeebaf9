/**
 * The manifest: what `npm run build` (scripts/compile-manifest.ts) compiles into
 * .sluice/manifest.json from pipeline/models, and what the Worker bundles. Nodes are stored in
 * dependency order, so the runner never parses or sorts at run time. The project's files are
 * bundled beside it (.sluice/project.json): a run with its own vars compiles them again, as dbt's
 * `--vars` re-resolve everything dbt resolves while parsing, cached per vars in the isolate.
 */
import compiled from "../../.sluice/manifest.json";
import projectFiles from "../../.sluice/project.json";
import { SluiceError } from "../lib/errors.ts";
import { CompileError, compileManifest, type ProjectFiles } from "./compile/index.ts";
import { type Manifest, manifestSchema } from "./manifest-schema.ts";

export type { Manifest, ModelConfig, ModelNode } from "./manifest-schema.ts";

let manifest: Manifest | undefined;

export function getManifest(): Manifest {
  if (manifest) return manifest;
  const parsed = manifestSchema.safeParse(compiled);
  if (!parsed.success) {
    throw new SluiceError("invalid_config", "the bundled model manifest is invalid; run `npm run build`");
  }
  manifest = parsed.data;
  return manifest;
}

const withVars = new Map<string, Promise<Manifest>>();
const cachedVarSets = 16;

/** The manifest for a run's vars: the bundled one when there are none, else the project compiled with them. */
export async function manifestFor(
  vars: Record<string, unknown> | undefined,
  files: ProjectFiles = projectFiles as ProjectFiles,
): Promise<Manifest> {
  if (!vars || Object.keys(vars).length === 0) return getManifest();
  const key = JSON.stringify(Object.entries(vars).sort(([a], [b]) => (a < b ? -1 : 1)));
  let pending = withVars.get(key);
  if (!pending) {
    if (withVars.size >= cachedVarSets) withVars.delete(withVars.keys().next().value!);
    pending = compileManifest(files, { vars }).catch((error: unknown) => {
      withVars.delete(key);
      if (error instanceof CompileError)
        throw new SluiceError("bad_request", `the project does not compile with these vars: ${error.message}`);
      throw error;
    });
    withVars.set(key, pending);
  }
  return pending;
}
