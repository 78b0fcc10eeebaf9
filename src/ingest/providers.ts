/** Every provider Sluice verifies, by the `provider` name a source declares. */
import type { Provider, WebhookSource } from "../config/schema.ts";
import { generic } from "./generic.ts";
import { github } from "./github.ts";
import type { Classified, Delivery, WebhookProvider } from "./provider.ts";
import { shopify } from "./shopify.ts";
import { slack } from "./slack.ts";
import { standard } from "./standard.ts";
import { stripe } from "./stripe.ts";

const providers: { [P in Provider]: WebhookProvider<P> } = { stripe, github, shopify, slack, standard, generic };

/** Verifies a delivery with its source's provider; throws a 401 SluiceError if it is not genuine. */
export function verifyDelivery(delivery: Delivery, source: WebhookSource, secrets: readonly string[]): Promise<void> {
  return (providers[source.provider] as WebhookProvider<Provider>).verify(delivery, source as never, secrets);
}

export function classifyDelivery(delivery: Delivery, payload: unknown, source: WebhookSource): Classified {
  return (providers[source.provider] as WebhookProvider<Provider>).classify(delivery, payload, source as never);
}
