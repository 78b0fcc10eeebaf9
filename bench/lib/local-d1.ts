/**
 * Reads a local D1 database (a `wrangler dev` or workerd state folder) from the bench's own
 * process with node:sqlite, read-only, while the Worker keeps writing it. In: the state folder.
 * Out: its SQLite file, or a count from it.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/** The local D1 database's SQLite file: the one under the state folder holding Sluice's ledger. */
export function d1File(persistTo: string): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith(".sqlite")) files.push(join(dir, entry.name));
    }
  };
  walk(join(persistTo, "v3", "d1"));
  for (const file of files) {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = '_sluice_loads'").get()) return file;
    } finally {
      db.close();
    }
  }
  throw new Error(`no D1 database with _sluice_loads under ${persistTo}`);
}

/** Rows in `table` (a trusted name), 0 while it does not exist yet. */
export function countRows(persistTo: string, table: string): number {
  const db = new DatabaseSync(d1File(persistTo), { readOnly: true });
  try {
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table)) return 0;
    return Number((db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n);
  } finally {
    db.close();
  }
}
