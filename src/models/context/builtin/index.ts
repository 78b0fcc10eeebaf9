/**
 * Sluice's own macro packages, bundled with the Worker: `dbt` (dbt's global macros, in Sluice's
 * words, for the `sqlite` adapter) and `sluice_sqlite` (`sqlite__` versions of package macros
 * whose `default__` is not valid on SQLite, searched before those packages by dispatch).
 */
import type { MacroFile } from "../macros.ts";
import { crossDatabaseMacros } from "./cross-database.ts";
import { namingMacros } from "./naming.ts";
import { sluiceSqliteMacros } from "./sluice-sqlite.ts";

export const builtinMacros: readonly MacroFile[] = [...namingMacros, ...crossDatabaseMacros, ...sluiceSqliteMacros];
