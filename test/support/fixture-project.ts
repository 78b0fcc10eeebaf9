/// <reference types="vite/client" />
/**
 * The dbt fixture projects, read through Vite's glob import (so the workerd tests see the same
 * files the build script would) and compiled with the real build step: test/fixtures/shop, a
 * project in the style of dbt's 2019 jaffle_shop, and test/fixtures/jaffle, one as teams write
 * them now (macros, dispatch, an installed package in dbt_packages/, seeds enabled by a var).
 */
import { type CompileOptions, compileManifest, type PackageFiles, type ProjectFiles } from "../../src/models/compile/index.ts";

type Glob = Record<string, string>;

const shop = import.meta.glob("../fixtures/shop/**/*", { query: "?raw", import: "default", eager: true }) as Glob;
const jaffle = import.meta.glob(["../fixtures/jaffle/**/*", "../fixtures/jaffle/dbt_packages/**/*"], {
  query: "?raw",
  import: "default",
  eager: true,
}) as Glob;
const packaged = import.meta.glob(["../fixtures/packaged/**/*", "../fixtures/packaged/dbt_packages/**/*"], {
  query: "?raw",
  import: "default",
  eager: true,
}) as Glob;

/** One project folder's files, by path relative to it, as scripts/lib/project.ts reads a folder. */
function folderFiles(glob: Glob, prefix: string): PackageFiles {
  const files = Object.entries(glob)
    .filter(([path]) => path.startsWith(prefix))
    .map(([path, text]) => ({ path: path.slice(prefix.length), text }))
    .filter((f) => !f.path.startsWith("dbt_packages/"))
    .sort((a, b) => a.path.localeCompare(b.path));
  const under = (folder: string, extension: string) => files.filter((f) => f.path.startsWith(folder) && f.path.endsWith(extension));
  const projectYaml = files.find((f) => f.path === "dbt_project.yml")?.text;
  return {
    folder: "",
    ...(projectYaml === undefined ? {} : { projectYaml }),
    models: under("models/", ".sql").map((f) => ({ path: f.path, sql: f.text })),
    properties: [...under("models/", ".yml"), ...under("seeds/", ".yml")].map((f) => ({ path: f.path, yaml: f.text })),
    seeds: under("seeds/", ".csv").map((f) => ({ path: f.path, csv: f.text })),
    tests: under("tests/", ".sql").map((f) => ({ path: f.path, sql: f.text })),
    macros: under("macros/", ".sql").map((f) => ({ path: f.path, sql: f.text })),
    docs: under("models/", ".md").map((f) => ({ path: f.path, markdown: f.text })),
  };
}

export function projectFiles(glob: Glob, root: string): ProjectFiles {
  const { folder: _, ...own } = folderFiles(glob, `${root}/`);
  const packagesYaml = glob[`${root}/packages.yml`];
  const installed = [
    ...new Set(
      Object.keys(glob)
        .filter((path) => path.startsWith(`${root}/dbt_packages/`))
        .map((path) => path.slice(`${root}/dbt_packages/`.length).split("/")[0]!),
    ),
  ].sort();
  return {
    ...own,
    ...(packagesYaml === undefined ? {} : { packages: { path: "packages.yml", yaml: packagesYaml } }),
    installedPackages: installed.map((folder) => ({ ...folderFiles(glob, `${root}/dbt_packages/${folder}/`), folder })),
    sources: {},
  };
}

export function shopFiles(overrides: Partial<ProjectFiles> = {}): ProjectFiles {
  return { ...projectFiles(shop, "../fixtures/shop"), ...overrides };
}

export const shopManifest = (overrides: Partial<ProjectFiles> = {}) => compileManifest(shopFiles(overrides));

/** test/fixtures/jaffle's files; `seeds` replaces seed files by path (`seeds/shop-data/raw_orders.csv`). */
export function jaffleFiles(seeds: Record<string, string> = {}): ProjectFiles {
  const files = projectFiles(jaffle, "../fixtures/jaffle");
  return { ...files, seeds: (files.seeds ?? []).map((seed) => ({ path: seed.path, csv: seeds[seed.path] ?? seed.csv })) };
}

export const jaffleManifest = (options: CompileOptions = {}, seeds: Record<string, string> = {}) =>
  compileManifest(jaffleFiles(seeds), options);

/** test/fixtures/packaged, a project with two installed packages; `packageSeeds` replaces the packages' seed files by path. */
export function packagedManifest(options: CompileOptions = {}, packageSeeds: Record<string, string> = {}) {
  const files = projectFiles(packaged, "../fixtures/packaged");
  const installedPackages = (files.installedPackages ?? []).map((pkg) => ({
    ...pkg,
    seeds: (pkg.seeds ?? []).map((seed) => ({ path: seed.path, csv: packageSeeds[`${pkg.folder}/${seed.path}`] ?? seed.csv })),
  }));
  return compileManifest({ ...files, installedPackages }, options);
}
