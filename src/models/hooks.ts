/**
 * Hooks: SQL a project runs around a node (`pre-hook`, `post-hook`) or around a run
 * (`on-run-start`, `on-run-end`). In: rendered hook SQL. Out: its statements run on D1 in one
 * batch (one transaction), so a failing hook leaves nothing of itself behind; the error names the
 * hook. D1 prepares one statement at a time, so a hook holding several is split at the semicolons
 * that end statements (not those inside strings, quoted names or comments); a hook that is only a
 * comment runs nothing.
 */

/** The statements of a SQL text, without empty ones and comment-only ones. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = "";
  let substance = false;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === "`" || c === "[") {
      const close = c === "[" ? "]" : c;
      let j = i + 1;
      while (j < sql.length && !(sql[j] === close && sql[j + 1] !== close)) j += sql[j] === close ? 2 : 1;
      current += sql.slice(i, j + 1);
      substance = true;
      i = j;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const stop = end === -1 ? sql.length : end;
      current += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      const stop = end === -1 ? sql.length : end + 2;
      current += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === ";") {
      if (substance) statements.push(current.trim());
      current = "";
      substance = false;
    } else {
      current += c;
      if (!/\s/.test(c)) substance = true;
    }
  }
  if (substance) statements.push(current.trim());
  return statements;
}

/** Runs rendered hooks, all in one batch; `what` names them in the error (e.g. `post-hook`). */
export async function runHookSql(db: D1Database, hooks: readonly string[], what: string): Promise<void> {
  const statements = hooks.flatMap(splitStatements);
  if (statements.length === 0) return;
  try {
    await db.batch(statements.map((sql) => db.prepare(sql)));
  } catch (error) {
    throw new Error(`${what} failed: ${(error as Error).message}`, { cause: error });
  }
}
