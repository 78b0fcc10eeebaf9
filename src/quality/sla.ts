/**
 * SLAs: Sluice's own `sla` config, on a source (or one of its tables) and on a model. In: the value a
 * project wrote in properties YAML, `config()` or the project file. Out: why it is wrong, for the
 * compile's messages (slaProblem), the manifest's schema of it, and its parts read: `fresh_within`
 * in seconds, `ready_by` as a time of day in an IANA zone.
 *
 * `fresh_within` is a duration, "30m", "2h", "1d" (or "1h30m"), or dbt's freshness spelling
 * `{count: 2, period: hour}`. `ready_by` is "HH:MM Zone", such as "06:00 Europe/Berlin"; only a
 * model takes it (it names a build to wait for).
 */
import { z } from "zod";
import { isTimeZone } from "../lib/time-zone.ts";

/** dbt's freshness periods, in seconds. */
export const periodSeconds = { minute: 60, hour: 3600, day: 86_400 } as const;
const periods = Object.keys(periodSeconds) as (keyof typeof periodSeconds)[];

const durationPattern = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/;
const readyByPattern = /^([01]?\d|2[0-3]):([0-5]\d)\s+(\S+)$/;

const freshWithinSchema = z.union([
  z.string(),
  z.object({ count: z.number().int().positive(), period: z.enum(periods as [keyof typeof periodSeconds]) }).strict(),
]);

/** The `sla` mapping as the manifest keeps it: as written, checked by slaProblem. */
export const slaSchema = z
  .object({ fresh_within: freshWithinSchema.optional(), ready_by: z.string().optional() })
  .strict()
  .superRefine((sla, ctx) => {
    const problem = slaProblem(sla, "model");
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

export type Sla = z.infer<typeof slaSchema>;
export type SlaOwner = "model" | "source";

const durationHint = 'write "30m", "2h", "1d" or {count: 2, period: hour}';

/** `fresh_within` in seconds, or undefined when it is not a positive duration. */
export function freshWithinSeconds(value: unknown): number | undefined {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const parsed = freshWithinSchema.safeParse(value);
    return parsed.success && typeof parsed.data === "object" ? parsed.data.count * periodSeconds[parsed.data.period] : undefined;
  }
  if (typeof value !== "string") return undefined;
  const match = durationPattern.exec(value.replaceAll(" ", "").toLowerCase());
  if (!match || match[0] === "") return undefined;
  const seconds = Number(match[1] ?? 0) * 86_400 + Number(match[2] ?? 0) * 3600 + Number(match[3] ?? 0) * 60;
  return seconds > 0 ? seconds : undefined;
}

export interface ReadyBy {
  hour: number;
  minute: number;
  zone: string;
}

/** `ready_by` read, or undefined when it is not "HH:MM Zone" with a zone the runtime knows. */
export function readyByParts(value: unknown): ReadyBy | undefined {
  const match = typeof value === "string" ? readyByPattern.exec(value.trim()) : null;
  if (!match || !isTimeZone(match[3]!)) return undefined;
  return { hour: Number(match[1]), minute: Number(match[2]), zone: match[3]! };
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * Why `value` is not an SLA the owner can have, as `sla…: reason`, or undefined when it is one.
 * `null` is an SLA: none, which clears one set at a wider level.
 */
export function slaProblem(value: unknown, owner: SlaOwner): string | undefined {
  if (value === null) return undefined;
  const keys = owner === "model" ? ["fresh_within", "ready_by"] : ["fresh_within"];
  const takes = owner === "model" ? "fresh_within and ready_by" : "fresh_within";
  if (!isRecord(value)) return `sla: expected a mapping, such as {fresh_within: "2h"}, got ${JSON.stringify(value)}`;
  for (const key of Object.keys(value)) {
    if (key === "ready_by" && owner === "source")
      return "sla.ready_by: only a model takes ready_by (a source's SLA is fresh_within: how old its newest record may be)";
    if (!keys.includes(key)) return `sla: unknown key "${key}" (a ${owner}'s sla takes ${takes})`;
  }
  if (Object.keys(value).length === 0) return `sla: set ${owner === "model" ? "fresh_within or ready_by" : "fresh_within"}`;
  if (value.fresh_within !== undefined && freshWithinSeconds(value.fresh_within) === undefined)
    return `sla.fresh_within: ${JSON.stringify(value.fresh_within)} is not a duration; ${durationHint}`;
  if (value.ready_by !== undefined) return readyByProblem(value.ready_by);
  return undefined;
}

function readyByProblem(value: unknown): string | undefined {
  const match = typeof value === "string" ? readyByPattern.exec(value.trim()) : null;
  if (!match)
    return `sla.ready_by: ${JSON.stringify(value)} is not a time of day and a zone; write "HH:MM Zone" (00:00 to 23:59), such as "06:00 Europe/Berlin"`;
  if (!isTimeZone(match[3]!)) return `sla.ready_by: unknown time zone "${match[3]}"; name an IANA zone, such as "Europe/Berlin" or "UTC"`;
  return undefined;
}

/** A duration in seconds, as people read it: `45s`, `12m`, `3h 5m`, `2d 3h`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  return `${m}m`;
}
