/**
 * Loads the user's pipeline config once per isolate and validates it. A config that does not
 * validate is a deploy-time mistake: every entry point fails loudly with `invalid_config`
 * naming the offending path, rather than running half-configured.
 */
import pipelineConfig from "../../pipeline/sluice.config.ts";
import { parseConfig } from "./parse.ts";
import type { SluiceConfig } from "./schema.ts";

export { parseConfig } from "./parse.ts";
export { defineConfig } from "./schema.ts";
export type { ReportDefinition, SluiceConfig, SluiceConfigInput, WebhookSource } from "./schema.ts";

let loaded: SluiceConfig | undefined;

/** The pipeline config from pipeline/sluice.config.ts, validated on first use. */
export function getConfig(): SluiceConfig {
  loaded ??= parseConfig(pipelineConfig);
  return loaded;
}

/** Every env var that holds a secret named by the config, for masking in logs. */
export function secretNames(config: SluiceConfig): string[] {
  return [...new Set(Object.values(config.sources).flatMap((source) => source.secrets))];
}
