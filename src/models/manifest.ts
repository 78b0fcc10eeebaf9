/**
 * The manifest: what `npm run build` (scripts/compile-manifest.ts) compiles into
 * .sluice/manifest.json from pipeline/models, and what the Worker bundles. Nodes are stored in
 * dependency order, so the runner never parses or sorts at run time.
 */
import compiled from "../../.sluice/manifest.json";
import { SluiceError } from "../lib/errors.ts";
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
