/**
 * The R2 raw zone: one immutable gzip NDJSON object per (batch, stream), the replayable source
 * of truth. Each line is a full record envelope, so a replay needs nothing but the object.
 */
import { SluiceError } from "../lib/errors.ts";

export interface RawLine {
  key: string;
  source: string;
  stream: string;
  receivedAt: string;
  deliveryId: string;
  /** Hex SHA-256 of the webhook request body as received; see `recordMessageSchema`. */
  bodyHash?: string;
  /** False when the key came from outside the signature; see `recordMessageSchema`. */
  keySigned?: boolean;
  payload: unknown;
  /** Set when the stream stores transformed records (`redactRaw`): a replay must not transform again. */
  transformed?: boolean;
  /** `redactRaw` only: the stream's redact and hash were applied, its filter and map were not. */
  redacted?: boolean;
  /** `redactRaw` only: the stream's filter or map dropped this record when it was loaded. */
  filtered?: boolean;
}

/** `raw/<source>/<stream>/dt=YYYY-MM-DD/hr=HH/<loadId>.ndjson.gz`, partitioned by load time (UTC). */
export function rawObjectKey(source: string, stream: string, loadId: string, at: Date): string {
  const iso = at.toISOString();
  return `raw/${source}/${stream}/dt=${iso.slice(0, 10)}/hr=${iso.slice(11, 13)}/${loadId}.ndjson.gz`;
}

/** The day prefix under which a stream's raw objects for one UTC date are listed. */
export function rawDayPrefix(source: string, stream: string, day: string): string {
  return `raw/${source}/${stream}/dt=${day}/`;
}

/** A pointer to one record of a raw object: `<key>#<1-based line>`. */
export function rawRef(r2Key: string, line: number): string {
  return `${r2Key}#${line}`;
}

export async function gzip(text: string): Promise<ArrayBuffer> {
  return new Response(new Response(text).body!.pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
}

export async function gunzip(data: ArrayBuffer | ReadableStream): Promise<string> {
  const source = data instanceof ReadableStream ? data : new Blob([data]).stream();
  return new Response(source.pipeThrough(new DecompressionStream("gzip"))).text();
}

/** Writes one raw object and returns its compressed size in bytes. */
export async function writeRawObject(
  bucket: R2Bucket,
  r2Key: string,
  lines: readonly RawLine[],
  metadata: Record<string, string>,
): Promise<number> {
  const ndjson = `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`;
  const body = await gzip(ndjson);
  try {
    // Load ids are unique (time plus 80 random bits), so a key is written once and never
    // overwritten: a retried batch gets a new load id and a new object.
    await bucket.put(r2Key, body, {
      httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" },
      customMetadata: metadata,
    });
  } catch (cause) {
    throw new SluiceError("storage_unavailable", `could not write raw object ${r2Key}`, { cause });
  }
  return body.byteLength;
}

export async function readRawObject(bucket: R2Bucket, r2Key: string): Promise<RawLine[]> {
  const object = await bucket.get(r2Key);
  if (object === null) throw new SluiceError("not_found", `no raw object ${r2Key}`);
  const text = await gunzip(object.body);
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as RawLine);
}
