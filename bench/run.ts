/**
 * `npm run bench -- <name>`: runs one benchmark. Each ends with one JSON line; the speed benchmarks
 * measure their baseline in the same run, so results are ratios that hold on a shared 2-core
 * machine, and the soak reconciles what it sent against what was loaded.
 */
const benchmarks: Record<string, () => Promise<void>> = {
  compile: async () => (await import("./compile.ts")).main(),
  ingest: async () => (await import("./ingest.ts")).main(),
  load: async () => (await import("./load.ts")).main(),
  models: async () => (await import("./models.ts")).main(),
  pull: async () => (await import("./pull.ts")).main(),
  report: async () => (await import("./report.ts")).main(),
  soak: async () => (await import("./soak.ts")).main(),
};

const name = process.argv[2];
const bench = name ? benchmarks[name] : undefined;
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(benchmarks).join("|")}>`);
  process.exit(2);
}
await bench();
