/** The OpenAPI document passes a real validator, and describes what the pipeline declares. */
import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, it } from "vitest";
import pipeline from "../../pipeline/sluice.config.ts";
import { app } from "../../src/app.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { openApiDocument } from "../../src/openapi.ts";

describe("GET /openapi.json", () => {
  const document = openApiDocument(app, parseConfig(pipeline), "http://127.0.0.1:8787") as {
    openapi: string;
    paths: Record<string, Record<string, { parameters?: { name: string; schema: Record<string, unknown> }[] }>>;
  };

  it("is a valid OpenAPI 3.1 document", async () => {
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
    expect(document.openapi).toBe("3.1.0");
  });

  it("covers webhooks, every report with its typed params, and the ops API", () => {
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        "/v1/webhooks/{source}",
        "/v1/reports/daily_revenue",
        "/v1/reports/events_per_day",
        "/v1/models/build",
        "/v1/replay",
        "/v1/pulls",
        "/metrics",
      ]),
    );
    const params = document.paths["/v1/reports/events_per_day"]!.get!.parameters!;
    expect(params.find((p) => p.name === "min_events")!.schema).toMatchObject({ type: "integer", minimum: 0 });
    expect(params.find((p) => p.name === "from")!.schema).toMatchObject({ type: "string", format: "date" });
    expect(params.find((p) => p.name === "sort")!.schema.enum).toEqual(["day", "-day", "events", "-events"]);
    const revenue = document.paths["/v1/reports/daily_revenue"]!.get!.parameters! as {
      name: string;
      in: string;
      schema: Record<string, unknown>;
    }[];
    expect(revenue.find((p) => p.name === "currency")!.schema).toMatchObject({ type: "string", pattern: "^[A-Za-z]{3}$" });
    expect(revenue.filter((p) => p.in === "header").map((p) => p.name)).toEqual(["if-none-match", "cache-control"]);
  });
});
