/**
 * How each automatic monitor is tuned, from the config's `monitors`: one sensitivity for all, and
 * overrides matched on the monitor's id (`stream:stripe.*:volume`), the last matching rule winning
 * field by field. A monitor keeps its own direction unless an override sets one (a quarantine rate
 * only rises to be anomalous; a volume may drop or spike). `incidents: false` keeps a monitor
 * judged and charted but never alerting, for a metric that is noisy by nature; a mute is the
 * tool for a while.
 */
import type { SluiceConfig } from "../config/index.ts";
import { compileGlob } from "../lib/glob.ts";
import type { Direction, ModelOptions } from "../quality/anomaly.ts";

export interface MonitorSettings {
  sensitivity: number;
  direction?: Direction;
  incidents: boolean;
}

export function monitorSettings(config: SluiceConfig, monitorId: string): MonitorSettings {
  const settings: MonitorSettings = { sensitivity: config.monitors.sensitivity, incidents: true };
  for (const { match, ...override } of config.monitors.overrides) {
    if (!compileGlob(match)(monitorId)) continue;
    if (override.sensitivity !== undefined) settings.sensitivity = override.sensitivity;
    if (override.direction !== undefined) settings.direction = override.direction;
    if (override.incidents !== undefined) settings.incidents = override.incidents;
  }
  return settings;
}

/** A monitor's model options with its tuning applied over the kind's own. */
export function tunedOptions<T extends ModelOptions>(config: SluiceConfig, monitorId: string, options: T): T {
  const { sensitivity, direction } = monitorSettings(config, monitorId);
  return { ...options, sensitivity, ...(direction ? { direction } : {}) };
}
