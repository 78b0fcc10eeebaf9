/**
 * Loads the user's pipeline config once per isolate and validates it. A config that does not
 * validate is a deploy-time mistake: every entry point fails loudly with `invalid_config`
 * naming the offending path, rather than running half-configured.
 */
// Written by `npm run build`: the config of the pipeline folder (SLUICE_PIPELINE_DIR, default pipeline/).
import pipelineConfig from "../../.sluice/pipeline-config.ts";
import { parseConfig } from "./parse.ts";
import type { RestSource } from "./pull-schema.ts";
import type { SluiceConfig } from "./schema.ts";

export { parseConfig } from "./parse.ts";
export type { ReportDefinition, SluiceConfig, SluiceConfigInput, WebhookSource } from "./schema.ts";
export { defineConfig } from "./schema.ts";
export { declaredStreams, streamConfig } from "./streams.ts";

let loaded: SluiceConfig | undefined;

/** The pipeline config from the pipeline folder's sluice.config.ts, validated on first use. */
export function getConfig(): SluiceConfig {
  loaded ??= parseConfig(pipelineConfig);
  return loaded;
}

/** The env vars a pull source's auth reads its credentials from. */
export function authSecretNames(auth: RestSource["auth"]): string[] {
  if (!auth) return [];
  switch (auth.type) {
    case "bearer":
      return [auth.token];
    case "api_key":
      return [auth.key];
    case "basic":
      return [auth.username, auth.password];
    case "oauth2_client_credentials":
      return [auth.clientId, auth.clientSecret];
  }
}

/** Every env var that holds a secret named by the config, for masking in logs. */
export function secretNames(config: SluiceConfig): string[] {
  const webhook = Object.values(config.sources).flatMap((source) => source.secrets);
  const pulls = Object.values(config.pulls).flatMap((source) => authSecretNames(source.auth));
  // Alert webhook URLs carry their own credentials (Slack's do), so they are secrets too.
  const alertHooks = config.alerts.map((rule) => rule.webhook);
  return [...new Set([...webhook, ...pulls, ...alertHooks])];
}

/** Plain vars the config names (pull base URLs and path values), which are not secrets. */
export function varNames(config: SluiceConfig): string[] {
  return [
    ...new Set(
      Object.values(config.pulls).flatMap((source) => [
        ...(typeof source.baseUrl === "string" ? [] : [source.baseUrl.var]),
        ...Object.values(source.pathVars),
      ]),
    ),
  ];
}
