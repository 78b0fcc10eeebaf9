/// <reference types="vite/client" />
/**
 * The dbt-syntax fixture project in test/fixtures/shop, read through Vite's glob import (so the
 * workerd tests see the same files the build script would) and compiled with the real build step.
 */
import { compileManifest, type ProjectFiles } from "../../src/models/compile/index.ts";

const shop = import.meta.glob("../fixtures/shop/**/*", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

/** A fixture project's files (as Vite's glob import gives them, under `root`) as the build script reads them. */
export function fixtureFiles(files: Record<string, string>, root: string, overrides: Partial<ProjectFiles> = {}): ProjectFiles {
  const under = (folder: string, extension: string) =>
    Object.entries(files)
      .map(([path, text]) => ({ path: path.replace(root, ""), text }))
      .filter((f) => f.path.startsWith(folder) && f.path.endsWith(extension))
      .sort((a, b) => a.path.localeCompare(b.path));
  return {
    projectYaml: files[`${root}dbt_project.yml`]!,
    models: under("models/", ".sql").map((f) => ({ path: f.path, sql: f.text })),
    properties: under("models/", ".yml").map((f) => ({ path: f.path, yaml: f.text })),
    seeds: under("seeds/", ".csv").map((f) => ({ path: f.path, csv: f.text })),
    tests: under("tests/", ".sql").map((f) => ({ path: f.path, sql: f.text })),
    docs: under("models/", ".md").map((f) => ({ path: f.path, markdown: f.text })),
    macros: under("macros/", ".sql").map((f) => ({ path: f.path, sql: f.text })),
    sources: {},
    ...overrides,
  };
}

export const shopFiles = (overrides: Partial<ProjectFiles> = {}) => fixtureFiles(shop, "../fixtures/shop/", overrides);

export const shopManifest = (overrides: Partial<ProjectFiles> = {}) => compileManifest(shopFiles(overrides));
