/**
 * Cron expressions as Cloudflare Cron Triggers take them: five fields (minute, hour, day of month,
 * month, day of week, with weekdays 1-7 from Sunday or SUN-SAT, and L, W and #), parsed by croner.
 * Config validation and the manifest compile check every cron with it, so a cron that Cloudflare
 * would refuse, or one that never fires, fails there, naming the expression, rather than at deploy
 * or silently. Single spaces only: the scheduled entry matches the cron that fired by its exact
 * text, which Cloudflare hands back as wrangler.toml spells it.
 */
import { Cron } from "croner";
import { z } from "zod";

/** Why `expression` is not a cron Cloudflare would run, or undefined if it is one. */
export function cronProblem(expression: string): string | undefined {
  if (!/^\S+( \S+){4}$/.test(expression)) {
    return "a cron has five fields separated by single spaces: minute hour day-of-month month day-of-week";
  }
  if (expression.includes("?")) return "Cron Triggers do not take ?; use *";
  const weekday = weekdayOutOfRange(expression.split(" ")[4]!);
  if (weekday !== undefined) return `Invalid value for dayOfWeek: ${weekday} (weekdays are 1-7 from Sunday, or SUN-SAT)`;
  let cron: Cron;
  try {
    cron = new Cron(expression, { mode: "5-part", alternativeWeekdays: true });
  } catch (error) {
    const message = (error as Error).message.replace(/^CronPattern:\s*/, "");
    return /dayOfWeek/.test(message) ? `${message} (weekdays are 1-7 from Sunday, or SUN-SAT)` : message;
  }
  if (cron.nextRun() === null) return "it never fires";
  return undefined;
}

/**
 * A weekday number outside 1-7 in the day-of-week field. croner reads that field in Cloudflare's
 * numbering but lets 8 through, as 0-7 would be in the other; steps and `#n` are not weekdays.
 */
function weekdayOutOfRange(field: string): string | undefined {
  for (const item of field.split(",")) {
    for (const end of item.split("/")[0]!.split("-")) {
      const day = end.split("#")[0]!.replace(/L$/i, "");
      if (/^\d+$/.test(day) && (Number(day) < 1 || Number(day) > 7)) return day;
    }
  }
  return undefined;
}

export const cronSchema = z.string().superRefine((expression, ctx) => {
  const problem = cronProblem(expression);
  if (problem) ctx.addIssue({ code: "custom", message: `invalid cron "${expression}": ${problem}` });
});
