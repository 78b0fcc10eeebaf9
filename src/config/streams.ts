/**
 * Looking up a stream in a parsed config. Kept apart from index.ts, which imports the bundled
 * pipeline config, so the compile (scripts/) can use it before that config has been written.
 */
import type { SluiceConfig, StreamConfig } from "./schema.ts";

/** A stream's declaration, whether a webhook stream or a REST resource; undefined if none. */
export function streamConfig(config: SluiceConfig, source: string, stream: string): StreamConfig | undefined {
  if (Object.hasOwn(config.sources, source)) {
    const streams = config.sources[source]!.streams;
    return Object.hasOwn(streams, stream) ? streams[stream] : undefined;
  }
  if (Object.hasOwn(config.pulls, source)) {
    const resources = config.pulls[source]!.resources;
    return Object.hasOwn(resources, stream) ? resources[stream] : undefined;
  }
  return undefined;
}

/** Every declared (source, stream) pair, webhook and pull alike. */
export function declaredStreams(config: SluiceConfig): { source: string; stream: string }[] {
  return [
    ...Object.entries(config.sources).flatMap(([source, s]) => Object.keys(s.streams).map((stream) => ({ source, stream }))),
    ...Object.entries(config.pulls).flatMap(([source, s]) => Object.keys(s.resources).map((stream) => ({ source, stream }))),
  ];
}
