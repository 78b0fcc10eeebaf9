/**
 * The generic verifier, configured per source: a header holding `<prefix><hex|base64>` of an
 * HMAC-SHA256 or HMAC-SHA1 over the raw body, or over a template such as `{timestamp}.{body}`
 * with a timestamp header checked against a tolerance. Key: a configured header. Streams route by
 * a configured header or JSON path.
 */
import { concatBytes, fromBase64, fromHex, hmac } from "../lib/crypto.ts";
import { checkTimestamp, field, firstHeader, malformed, requireHeader, verifyAny, type WebhookProvider } from "./provider.ts";

const digestLength = { sha256: 32, sha1: 20 } as const;

export const generic: WebhookProvider<"generic"> = {
  async verify(delivery, source, secrets) {
    const spec = source.signature;
    const header = requireHeader(delivery.headers, spec.header).trim();
    const expectation = `${spec.prefix}<${spec.encoding} ${spec.algorithm}>`;
    if (!header.startsWith(spec.prefix)) throw malformed(`${spec.header} must be "${expectation}"`);
    const encoded = header.slice(spec.prefix.length);
    const signature = spec.encoding === "hex" ? fromHex(encoded) : fromBase64(encoded);
    if (signature?.length !== digestLength[spec.algorithm]) throw malformed(`${spec.header} must be "${expectation}"`);

    let timestamp = "";
    if (spec.timestamp) {
      const raw = requireHeader(delivery.headers, spec.timestamp.header);
      timestamp = checkTimestamp(raw, delivery.now, spec.timestamp.toleranceSeconds);
    }
    const [before, after] = splitOnce(spec.signedContent.replaceAll("{timestamp}", timestamp), "{body}");
    const signed = concatBytes(before, delivery.body, after);
    await verifyAny([signature], secrets, (secret) => hmac(spec.algorithm, secret, signed));
  },

  classify(delivery, payload, source) {
    const key = source.keyHeader ? firstHeader(delivery.headers, source.keyHeader) : undefined;
    const route = source.route
      ? "header" in source.route
        ? firstHeader(delivery.headers, source.route.header)
        : field(payload, ...source.route.path.split("."))
      : undefined;
    return { key, route };
  },
};

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return [text.slice(0, at), text.slice(at + separator.length)];
}
