/**
 * vitest globalSetup: lets the workerd tests read the bytes of their own local D1 database, to
 * prove that a value never reached it in any form. Miniflare keeps each D1 database as SQLite
 * files (`.sqlite`, `-wal`, `-shm`) under `<tmpdir>/miniflare-<random>/d1/`, which code inside
 * workerd cannot open, so this Node server scans them on request.
 *
 * `POST /scan {locate, needles}` reads every database whose files were written since this run
 * began, keeps those whose bytes contain `locate` (a value the test stored in clear, which tells
 * this run's database from another run's on the same machine), and answers which of their files
 * contain each needle: `{ databases: [[file, …], …], found: { needle: [file, …] } }`. The WAL is
 * read along with the main file, so nothing waiting for a checkpoint is missed.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

/** Each local D1 database written since `since`, as its list of files. */
function databases(since: number): string[][] {
  const groups = new Map<string, string[]>();
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith("miniflare-")) continue;
    const d1 = join(tmpdir(), name, "d1");
    let files: string[];
    try {
      files = filesUnder(d1);
    } catch {
      continue;
    }
    for (const file of files) {
      if (!/\.sqlite(-wal|-shm|-journal)?$/.test(file)) continue;
      const base = file.replace(/-(wal|shm|journal)$/, "");
      groups.set(base, [...(groups.get(base) ?? []), file]);
    }
  }
  return [...groups.values()].filter((files) => files.some((file) => (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) >= since));
}

export default async function setup(project: TestProject) {
  const started = Date.now() - 1000;
  const server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => {
      try {
        const { locate, needles } = JSON.parse(text) as { locate: string; needles: string[] };
        const located: string[][] = [];
        const found: Record<string, string[]> = Object.fromEntries(needles.map((needle) => [needle, []]));
        for (const files of databases(started)) {
          // A file can vanish while another run shuts down; it is then not this run's.
          const bytes = new Map(
            files.flatMap((file) => {
              try {
                return [[file, readFileSync(file)] as const];
              } catch {
                return [];
              }
            }),
          );
          if (![...bytes.values()].some((b) => b.includes(locate))) continue;
          located.push(files);
          for (const needle of needles) {
            for (const [file, b] of bytes) if (b.includes(needle)) found[needle]!.push(file);
          }
        }
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ databases: located, found }));
      } catch (error) {
        response.writeHead(500).end(String(error));
      }
    });
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("the D1 file scanner has no address");
  project.provide("d1FilesUrl", `http://127.0.0.1:${address.port}`);
  return () => new Promise<void>((closed) => server.close(() => closed()));
}

declare module "vitest" {
  export interface ProvidedContext {
    d1FilesUrl: string;
  }
}
