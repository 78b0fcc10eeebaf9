/**
 * Structured logging: one JSON object per line, one line per event. Workers Logs and
 * `wrangler tail` index the fields. A logger knows the secrets of its invocation and masks them
 * wherever they appear, so a secret that slips into an error message never reaches the logs.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const redacted = "[redacted]";
/** Field names whose values are never logged, whatever they hold. */
const sensitiveKey = /secret|token|password|authorization|signature|cookie/i;

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line it writes. */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Secret values to mask in every line. Values shorter than 4 characters are ignored. */
  secrets?: readonly string[];
  /** Where lines go; console.log by default (Workers Logs). */
  sink?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const minRank = levelRank[options.level ?? "info"];
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const sink = options.sink ?? ((line: string) => console.log(line));

  const write = (level: LogLevel, event: string, fields?: Record<string, unknown>) => {
    if (levelRank[level] < minRank) return;
    let line = JSON.stringify({ ts: new Date().toISOString(), level, event, ...base, ...fields }, replacer);
    for (const secret of secrets) line = line.replaceAll(jsonEscaped(secret), redacted);
    sink(line);
  };

  return {
    debug: (event, fields) => write("debug", event, fields),
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

function replacer(key: string, value: unknown): unknown {
  if (key !== "" && sensitiveKey.test(key)) return redacted;
  if (value instanceof Error) {
    return { name: value.name, message: value.message, ...("code" in value ? { code: value.code } : {}) };
  }
  return value;
}

/** A secret as it appears inside a JSON string, so that masking works after serialisation. */
function jsonEscaped(secret: string): string {
  return JSON.stringify(secret).slice(1, -1);
}
