/**
 * Property-based checks of every verifier (fast-check): arbitrary headers and bodies never make
 * a verifier fail with anything but a clean 401, and no change to a signed body ever verifies.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import pipeline from "../../pipeline/sluice.config.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { verifyDelivery } from "../../src/ingest/providers.ts";
import { SluiceError } from "../../src/lib/errors.ts";
import { secrets } from "../support/fixtures.ts";
import { type Provider, signers } from "../support/sign.ts";

const config = parseConfig(pipeline);
const providers = Object.keys(secrets) as Provider[];

const headerNames = [
  "stripe-signature",
  "x-hub-signature-256",
  "x-shopify-hmac-sha256",
  "shopify-hmac-sha256",
  "x-slack-signature",
  "x-slack-request-timestamp",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "svix-id",
  "svix-timestamp",
  "svix-signature",
  "x-sluice-signature",
];
// Header values are visible ASCII and spaces, as HTTP allows; fragments of real formats make the
// generator reach deep into each parser.
const headerValue = fc.oneof(
  fc.string({ unit: fc.constantFrom(..." ,=.0123456789abcdefv1tAZ+/_-whsec".split("")), maxLength: 120 }),
  fc.stringMatching(/^[\x20-\x7e]{0,80}$/),
  fc.constantFrom("t=1,v1=", "sha256=", "v0=", "v1,", "v1,=", "t=99999999999999999999,v1=00"),
);
const headersArb = fc.dictionary(fc.constantFrom(...headerNames), headerValue, { maxKeys: 6 });
const bodyArb = fc.uint8Array({ maxLength: 256 });

describe("verifier properties", () => {
  it.each(providers)("%s: arbitrary headers and bodies only ever yield a 401 SluiceError", async (provider) => {
    const source = config.sources[provider]!;
    await fc.assert(
      fc.asyncProperty(headersArb, bodyArb, async (headers, body) => {
        try {
          await verifyDelivery({ headers: new Headers(headers), body: body as never, now: Date.now() }, source, [secrets[provider]]);
          return false; // a random request must never verify
        } catch (error) {
          return error instanceof SluiceError && error.status === 401;
        }
      }),
      { numRuns: 300 },
    );
  });

  it.each(providers)("%s: a signed body changed in any way never verifies", async (provider) => {
    const source = config.sources[provider]!;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom("flip", "append", "truncate"),
        async (body, at, delta, how) => {
          const headers = new Headers(await signers[provider](body));
          const changed = new Uint8Array(how === "append" ? body.length + 1 : how === "truncate" ? body.length - 1 : body.length);
          changed.set(how === "truncate" ? body.subarray(0, body.length - 1) : body);
          if (how === "flip") changed[at % body.length] = (body[at % body.length]! + delta) % 256;
          if (how === "append") changed[body.length] = delta;
          await verifyDelivery({ headers, body: body as never, now: Date.now() }, source, [secrets[provider]]);
          await expect(
            verifyDelivery({ headers, body: changed as never, now: Date.now() }, source, [secrets[provider]]),
          ).rejects.toMatchObject({
            code: "bad_signature",
          });
        },
      ),
      { numRuns: 100 },
    );
  });
});
