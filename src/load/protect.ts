/**
 * Redaction for what Sluice keeps or shows of a record outside its typed table: dead-letter
 * bodies, and the ops API's quarantine and dead-letter listings. In: a message body or a
 * quarantine row. Out: the same, with every field its stream redacts or hashes removed or hashed.
 * A copy that already had them applied carries a mark (`redacted` or `transformed` on a message,
 * `recordForm` on a quarantine row) and is left as it is, so a hash is never hashed again.
 */
import type { QuarantineRow } from "../db/schema.ts";
import type { Runtime } from "../env.ts";
import { streamConfigOf } from "./load-stream.ts";
import { maskRecord, protectsFields, redactRecord } from "./transform.ts";

type RecordBody = Record<string, unknown> & { kind: "record" | "records"; source: string; stream: string };

/** What to do with fields to hash while SLUICE_HASH_SALT is unset: remove them (to show), or refuse (to store). */
export type WithoutSalt = "mask" | "refuse";

function recordBody(body: unknown): RecordBody | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const message = body as Record<string, unknown>;
  const isRecord = message.kind === "record" || message.kind === "records";
  return isRecord && typeof message.source === "string" && typeof message.stream === "string" ? (message as RecordBody) : undefined;
}

function payloadProtector(runtime: Runtime, source: string, stream: string, withoutSalt: WithoutSalt) {
  const config = streamConfigOf(runtime, source, stream);
  if (!protectsFields(config)) return undefined;
  const salt = runtime.settings.hashSalt;
  if (config.hash.length > 0 && !salt) return withoutSalt === "mask" ? async (payload: unknown) => maskRecord(payload, config) : "refused";
  return (payload: unknown) => redactRecord(payload, config, salt);
}

/**
 * A queue message body (parsed, or as JSON text) with its stream's redact and hash applied to
 * every payload it carries, and marked `redacted: true` so that a redrive does not apply them
 * again. A body that is not a record message, carries no payload (claim-checked), is already
 * marked, or whose stream protects no field, comes back as it was. Undefined when the stream
 * hashes fields, SLUICE_HASH_SALT is unset and `withoutSalt` is "refuse".
 */
export async function protectMessageBody(runtime: Runtime, body: unknown, withoutSalt: WithoutSalt): Promise<unknown> {
  if (typeof body === "string") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      // Not JSON: no stream to read its fields by.
      return body;
    }
    const result = await protectMessageBody(runtime, parsed, withoutSalt);
    return result === parsed ? body : result === undefined ? undefined : JSON.stringify(result);
  }
  const message = recordBody(body);
  if (!message || message.transformed === true || message.redacted === true) return body;
  const protect = payloadProtector(runtime, message.source, message.stream, withoutSalt);
  if (protect === undefined) return body;
  if (protect === "refused") return undefined;
  if (message.kind === "record" && message.payload !== undefined) {
    return { ...message, payload: await protect(message.payload), redacted: true };
  }
  if (message.kind === "records" && Array.isArray(message.records)) {
    const records = await Promise.all(
      message.records.map(async (record: unknown) =>
        typeof record === "object" && record !== null
          ? { ...record, payload: await protect((record as { payload?: unknown }).payload) }
          : record,
      ),
    );
    return { ...message, records, redacted: true };
  }
  return body;
}

/**
 * A quarantine row as the ops API shows it. A row without `recordForm` was kept unredacted (by a
 * Sluice that did not yet redact quarantine); it is shown with the stream's current redact and hash.
 */
export async function quarantineRowForView(runtime: Runtime, row: QuarantineRow): Promise<QuarantineRow> {
  if (row.recordForm !== null) return row;
  const protect = payloadProtector(runtime, row.source, row.stream, "mask");
  if (protect === undefined || protect === "refused") return row;
  const record = JSON.parse(row.record) as unknown;
  return { ...row, record: JSON.stringify(await protect(record)), recordForm: "redacted" };
}
