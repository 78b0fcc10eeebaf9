/** Every provider Sluice verifies, by the `provider` name a source declares. */
import type { Provider, WebhookSource } from "../config/schema.ts";
import { generic } from "./generic.ts";
import { github } from "./github.ts";
import { type Classified, type Delivery, type SignatureCheck, verifySignature, type WebhookProvider } from "./provider.ts";
import { shopify } from "./shopify.ts";
import { slack } from "./slack.ts";
import { standard } from "./standard.ts";
import { stripe } from "./stripe.ts";

const providers: { [P in Provider]: WebhookProvider<P> } = { stripe, github, shopify, slack, standard, generic };

/** Reads a delivery's signature headers, before its body; throws a 401 SluiceError if they are missing, malformed or stale. */
export function readSignature(headers: Headers, source: WebhookSource, now: number): SignatureCheck {
  return (providers[source.provider] as WebhookProvider<Provider>).readSignature(headers, source as never, now);
}

/** Verifies a whole delivery with its source's provider; throws a 401 SluiceError if it is not genuine. */
export async function verifyDelivery(delivery: Delivery, source: WebhookSource, secrets: readonly string[]): Promise<void> {
  await verifySignature(readSignature(delivery.headers, source, delivery.now), delivery.body, secrets);
}

export function classifyDelivery(delivery: Delivery, payload: unknown, source: WebhookSource): Classified {
  return (providers[source.provider] as WebhookProvider<Provider>).classify(delivery, payload, source as never);
}
