/**
 * Routes an event to a stream: the first stream (in declaration order) whose `match` patterns
 * claim the routing value, else the source's catch-all stream. Nothing is dropped.
 */
import type { WebhookSource } from "../config/schema.ts";
import { compileGlob, type GlobMatcher } from "../lib/glob.ts";

const compiled = new WeakMap<WebhookSource, [stream: string, patterns: GlobMatcher[]][]>();

export function routeToStream(source: WebhookSource, route: string | undefined): string {
  if (route !== undefined) {
    for (const [stream, patterns] of matchersOf(source)) {
      if (patterns.some((pattern) => pattern(route))) return stream;
    }
  }
  return source.defaultStream;
}

function matchersOf(source: WebhookSource): [string, GlobMatcher[]][] {
  let matchers = compiled.get(source);
  if (!matchers) {
    // `*` is any run of characters; everything else, `?` included, is literal.
    matchers = Object.entries(source.streams).map(([stream, spec]) => [stream, spec.match.map((pattern) => compileGlob(pattern))]);
    compiled.set(source, matchers);
  }
  return matchers;
}
