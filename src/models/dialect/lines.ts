/**
 * Where a construct of the compiled SQL sits in the template it came from. The compiled SQL is
 * the template with its Jinja rendered, so a construct written literally in the template is found
 * there: the k-th occurrence in the compiled SQL is taken as the k-th in the template (whitespace
 * may differ). A construct Jinja wrote (`{{ source(…) }}`) is placed after the nearest literal
 * text before it, by the lines between them. With nothing to anchor on, it is line 1.
 */
import { tokenize } from "./tokens.ts";

export function templateLine(template: string, compiled: string, offset: number, length: number): number {
  const exact = lineOf(template, compiled, offset, length);
  if (exact !== undefined) return exact;
  const anchors = tokenize(compiled.slice(0, offset))
    .filter((t) => t.kind !== "space" && t.kind !== "comment")
    .slice(-40)
    .reverse();
  for (const anchor of anchors) {
    const line = lineOf(template, compiled, anchor.start, anchor.text.length);
    if (line !== undefined) return line + (compiled.slice(anchor.start, offset).match(/\n/g)?.length ?? 0);
  }
  return 1;
}

function lineOf(template: string, compiled: string, offset: number, length: number): number | undefined {
  const snippet = compiled.slice(offset, offset + length).trim();
  if (snippet === "") return undefined;
  const body = snippet
    .split(/\s+/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("\\s+");
  // `qualify` is not found inside `disqualify`.
  const pattern = new RegExp(`${/^\w/.test(snippet) ? "(?<!\\w)" : ""}${body}${/\w$/.test(snippet) ? "(?!\\w)" : ""}`, "g");
  const before = [...compiled.matchAll(pattern)].filter((m) => m.index < offset).length;
  const found = [...template.matchAll(pattern)];
  const match = found[Math.min(before, found.length - 1)];
  return match === undefined ? undefined : template.slice(0, match.index).split("\n").length;
}
