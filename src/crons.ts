/**
 * Every cron the pipeline needs, derived from the config and the manifest rather than kept in sync
 * by hand: the model schedule, any model or folder `schedule`, the lake compaction and each pull
 * resource. The manifest compile (`npm run build`) writes them, verbatim, into wrangler.toml's
 * [triggers]; each was checked as a cron when the config was validated or the manifest compiled
 * (lib/cron.ts). Cloudflare hands the scheduled entry the exact text of the cron that fired, so
 * cron-jobs.ts finds a cron's jobs by comparing that text with these.
 */
import type { SluiceConfig } from "./config/index.ts";
import { isTestNode, type Manifest } from "./models/manifest-schema.ts";

export function pipelineCrons(config: SluiceConfig, manifest: Manifest): string[] {
  const crons = new Set<string>([config.models.schedule, config.lake.schedule]);
  for (const source of Object.values(config.pulls)) for (const resource of Object.values(source.resources)) crons.add(resource.schedule);
  for (const node of manifest.nodes) if (node.config.schedule && node.config.enabled) crons.add(node.config.schedule);
  return [...crons].sort();
}

/** The nodes whose own schedule is `cron`, and those that have none (they run on `models.schedule`). */
export function nodesOnCron(manifest: Manifest, cron: string): { own: string[]; unscheduled: string[]; scheduled: string[] } {
  const own = manifest.nodes.filter((n) => n.config.schedule === cron && !isTestNode(n)).map((n) => n.name);
  const scheduled = manifest.nodes.filter((n) => n.config.schedule !== undefined && !isTestNode(n)).map((n) => n.name);
  const unscheduled = manifest.nodes.filter((n) => n.config.schedule === undefined && !isTestNode(n)).map((n) => n.name);
  return { own, unscheduled, scheduled };
}
