/** The pieces routes describe their requests and answers with in the OpenAPI document. */
import { z } from "zod";

export const errorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string(), requestId: z.string() }) })
  .meta({ id: "Error", description: "Every error: a code from Sluice's one error table, a message and the request id" });

const statusText: Record<number, string> = {
  304: "Not modified",
  400: "Bad request",
  401: "Missing or invalid token or signature",
  403: "Token out of scope",
  404: "Not found",
  405: "Method not allowed",
  413: "Body too large",
  415: "Body is not JSON",
  429: "Rate limited; retry after Retry-After seconds",
  503: "Not ready; retry",
};

type ErrorResponses = Record<number, { description: string; content?: { "application/json": { schema: typeof errorSchema } } }>;

/** The error answers a route may give, each with the one error body (a 304 has none). */
export function errors(...codes: number[]): ErrorResponses {
  return Object.fromEntries(
    codes.map((code) => [
      code,
      code === 304
        ? { description: statusText[code]! }
        : { description: statusText[code] ?? "Error", content: { "application/json": { schema: errorSchema } } },
    ]),
  );
}

const anyObject = z.record(z.string(), z.unknown());

/** A JSON answer, described but not typed field by field. */
export function jsonAnswer(description: string) {
  return { description, content: { "application/json": { schema: anyObject } } };
}

/** A required JSON request body. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } } as const;
}
