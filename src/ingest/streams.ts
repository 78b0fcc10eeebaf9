/**
 * Routes an event to a stream: the first stream (in declaration order) whose `match` patterns
 * claim the routing value, else the source's catch-all stream. Nothing is dropped.
 */
import type { WebhookSource } from "../config/schema.ts";

const compiled = new WeakMap<WebhookSource, [stream: string, patterns: RegExp[]][]>();

export function routeToStream(source: WebhookSource, route: string | undefined): string {
  if (route !== undefined) {
    for (const [stream, patterns] of matchersOf(source)) {
      if (patterns.some((pattern) => pattern.test(route))) return stream;
    }
  }
  return source.defaultStream;
}

function matchersOf(source: WebhookSource): [string, RegExp[]][] {
  let matchers = compiled.get(source);
  if (!matchers) {
    matchers = Object.entries(source.streams).map(([stream, spec]) => [stream, spec.match.map(globToRegExp)]);
    compiled.set(source, matchers);
  }
  return matchers;
}

/** `orders/*` → /^orders\/.*$/: `*` is any run of characters; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`);
}
