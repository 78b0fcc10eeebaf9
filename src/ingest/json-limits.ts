/**
 * A webhook body parsed as JSON, within the shape Sluice can carry and load: at most
 * `limits.maxJsonDepth` levels of nested objects and arrays (providers nest a handful) and at most
 * `limits.maxObjectKeys` keys in any one object. A body past either is refused with 400 at intake,
 * where the sender sees it, instead of being accepted and then failing in the queue or the loader.
 * The walk keeps its own stack, so no depth of nesting can overflow the call stack.
 */
import type { Bytes } from "../lib/crypto.ts";
import { SluiceError } from "../lib/errors.ts";

export interface JsonLimits {
  maxJsonDepth: number;
  maxObjectKeys: number;
}

export function parseBody(body: Bytes, limits: JsonLimits): unknown {
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    throw new SluiceError("invalid_json", "body is not valid JSON");
  }
  checkShape(payload, limits);
  return payload;
}

/** Throws `too_deep` or `too_many_keys` if the value is past the limits. */
export function checkShape(value: unknown, { maxJsonDepth, maxObjectKeys }: JsonLimits): void {
  const pending: [node: object, depth: number][] = [];
  if (typeof value === "object" && value !== null) pending.push([value, 1]);
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (depth > maxJsonDepth) {
      throw new SluiceError("too_deep", `body is nested more than ${maxJsonDepth} levels deep (limits.maxJsonDepth)`);
    }
    const children = Array.isArray(node) ? node : Object.values(node);
    if (!Array.isArray(node) && children.length > maxObjectKeys) {
      throw new SluiceError(
        "too_many_keys",
        `an object in the body has ${children.length} keys; the limit is ${maxObjectKeys} (limits.maxObjectKeys)`,
      );
    }
    for (const child of children) {
      if (typeof child === "object" && child !== null) pending.push([child, depth + 1]);
    }
  }
}
