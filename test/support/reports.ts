/** Helpers for report tests: build the models a report reads, and declare a report for one describe block. */
import { env } from "cloudflare:test";
import { afterAll, beforeAll } from "vitest";
import type { z } from "zod";
import { getConfig } from "../../src/config/index.ts";
import { reportSchema } from "../../src/config/schema.ts";

type ReportInput = z.input<typeof reportSchema>;

import { createRuntime } from "../../src/env.ts";
import { runModels } from "../../src/models/runner.ts";

/** Builds `model` and everything upstream of it, as a manual run would. */
export function buildUpTo(model: string) {
  return runModels(createRuntime(env, "scheduled"), { trigger: "manual", select: [`+${model}`] });
}

/** Declares report `name` for the enclosing describe block (after `setup`, if given), and removes it after. */
export function declareReport(name: string, report: ReportInput, setup?: () => Promise<void>) {
  const reports = getConfig().reports;
  beforeAll(async () => {
    await setup?.();
    reports[name] = reportSchema.parse(report);
  });
  afterAll(() => {
    delete reports[name];
  });
}
