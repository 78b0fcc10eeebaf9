/**
 * Renders every case of test/fixtures/jinja/cases.json with Sluice's Jinja interpreter and
 * compares with what Python's Jinja2 rendered (golden.json, recorded by
 * scripts/record-jinja-golden.py): the same text, or an error naming the same line and saying
 * what Python said.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTemplate, TemplateError } from "../../src/jinja/index.ts";

interface Case {
  name: string;
  template: string;
  context?: Record<string, unknown>;
  error?: string;
}
type Golden = { output: string } | { error: string; type: string; line: number | null };

const dir = join(import.meta.dirname, "..", "fixtures", "jinja");
const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as Case[];
const golden = JSON.parse(readFileSync(join(dir, "golden.json"), "utf8")) as { cases: Record<string, Golden> };

async function render(c: Case): Promise<{ output: string } | { error: TemplateError }> {
  try {
    return { output: await parseTemplate(c.template, `${c.name}.sql`).render(structuredClone(c.context ?? {})) };
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    return { error: err };
  }
}

describe("Jinja rendering matches Python's Jinja2", () => {
  it("has a golden entry for every case", () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
    expect(cases.filter((c) => !golden.cases[c.name]).map((c) => c.name)).toEqual([]);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const want = golden.cases[c.name]!;
      const got = await render(c);
      if ("output" in want) {
        expect("error" in got ? `ERROR ${got.error.message}` : got.output).toBe(want.output);
        return;
      }
      expect("error" in got, "expected an error").toBe(true);
      if (!("error" in got)) return;
      expect(got.error.message).toMatch(new RegExp(`^${c.name.replace(/[/.]/g, "\\$&")}\\.sql:\\d+: `));
      expect(got.error.message).toContain(c.error ?? "");
      if (want.line !== null) expect(got.error.line, got.error.message).toBe(want.line);
    });
  }
});
