/**
 * The generic verifier, configured per source: a header holding `<prefix><hex|base64>` of an
 * HMAC-SHA256 or HMAC-SHA1 over the raw body, or over a `signedContent` template such as
 * `{timestamp}.{body}` or `{id}.{timestamp}.{body}`, with a timestamp header checked against a
 * tolerance and `{id}` the value of the source's `keyHeader`. Key: that header; the signature
 * covers it only if the template has `{id}`, and otherwise the key is bound to the body's hash.
 * Streams route by a configured header (never signed) or JSON path (signed with the body).
 */
import { concatBytes, fromBase64, fromHex } from "../lib/crypto.ts";
import { checkTimestamp, field, firstHeader, malformed, requireHeader, type WebhookProvider } from "./provider.ts";

const digestLength = { sha256: 32, sha1: 20 } as const;

/** Splits a template into literal text and placeholders, e.g. `["", "{id}", ".", "{body}", ""]`. */
const placeholders = /(\{(?:id|timestamp|body)\})/;

export const generic: WebhookProvider<"generic"> = {
  readSignature(headers, source, now) {
    const spec = source.signature;
    const header = requireHeader(headers, spec.header).trim();
    const expectation = `${spec.prefix}<${spec.encoding} ${spec.algorithm}>`;
    if (!header.startsWith(spec.prefix)) throw malformed(`${spec.header} must be "${expectation}"`);
    const encoded = header.slice(spec.prefix.length);
    const signature = spec.encoding === "hex" ? fromHex(encoded) : fromBase64(encoded);
    if (signature?.length !== digestLength[spec.algorithm]) throw malformed(`${spec.header} must be "${expectation}"`);

    const parts = spec.signedContent.split(placeholders);
    const values = new Map<string, string>();
    if (spec.timestamp) {
      values.set("{timestamp}", checkTimestamp(requireHeader(headers, spec.timestamp.header), now, spec.timestamp.toleranceSeconds));
    }
    if (parts.includes("{id}")) {
      // The schema requires keyHeader wherever the template signs the id.
      const id = requireHeader(headers, source.keyHeader!).trim();
      if (id === "") throw malformed(`${source.keyHeader} is empty`);
      values.set("{id}", id);
    }
    return {
      given: [signature],
      algorithm: spec.algorithm,
      signed: (body) => concatBytes(...parts.map((part) => (part === "{body}" ? body : (values.get(part) ?? part)))),
    };
  },

  classify(delivery, payload, source) {
    const key = source.keyHeader ? firstHeader(delivery.headers, source.keyHeader) : undefined;
    const route = source.route
      ? "header" in source.route
        ? firstHeader(delivery.headers, source.route.header)
        : field(payload, ...source.route.path.split("."))
      : undefined;
    return { key, keySigned: key === undefined || source.signature.signedContent.includes("{id}"), route };
  },
};
