/**
 * Config validation that protects data: table names two streams would share, streams whose
 * records could never reach their table, and schemas that cannot declare columns.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { declaredColumns } from "../../src/config/columns.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { SluiceError } from "../../src/lib/errors.ts";

const webhook = (streams: Record<string, object>) => ({
  provider: "generic" as const,
  secrets: ["GENERIC_WEBHOOK_SECRET"],
  signature: { header: "x-sig" },
  streams,
  defaultStream: Object.keys(streams)[0]!,
});
const pull = (resources: Record<string, object>) => ({
  kind: "rest" as const,
  baseUrl: "https://api.example.com",
  resources: Object.fromEntries(
    Object.entries(resources).map(([name, spec]) => [
      name,
      { path: `/${name}`, paginator: { type: "single_page" }, schedule: "0 * * * *", ...spec },
    ]),
  ),
});

/** The message of the invalid_config error parseConfig throws. */
function refusal(config: unknown): string {
  try {
    parseConfig(config);
  } catch (error) {
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe("invalid_config");
    return (error as SluiceError).message;
  }
  throw new Error("the config was accepted");
}

describe("table names", () => {
  it("refuses two streams that would land in one table (a__b + c and a + b__c)", () => {
    const message = refusal({ sources: { a__b: webhook({ c: {} }), a: webhook({ b__c: {} }) } });
    expect(message).toContain("stream a/b__c would land in table raw_a__b__c, which stream a__b/c already uses; rename one of them");
  });

  it("refuses the same collision between a webhook source and a pull", () => {
    const message = refusal({ sources: { a__b: webhook({ c: {} }) }, pulls: { a: pull({ b__c: {} }) } });
    expect(message).toContain("stream a/b__c would land in table raw_a__b__c, which stream a__b/c already uses");
  });

  it("refuses a stream named like a replace stream's staging table", () => {
    const message = refusal({ pulls: { a: pull({ b: { disposition: "replace" }, b__staging: {} }) } });
    expect(message).toContain(
      "stream a/b__staging would land in table raw_a__b__staging, which the staging table of stream a/b already uses",
    );
  });

  it("refuses a table name too long for the identifiers Sluice derives from it", () => {
    const message = refusal({ sources: { [`s${"x".repeat(62)}`]: webhook({ [`t${"y".repeat(62)}`]: {} }) } });
    expect(message).toMatch(/its table name raw_sx+__ty+ is too long/);
  });

  it("accepts distinct tables", () => {
    expect(() => parseConfig({ sources: { a__b: webhook({ c: {} }), a: webhook({ b_c: {} }) } })).not.toThrow();
  });
});

describe("dispositions", () => {
  it("refuses a webhook stream with disposition replace, naming the stream", () => {
    const message = refusal({ sources: { shop: webhook({ events: {}, snapshot: { disposition: "replace" } }) } });
    expect(message).toContain('webhook stream shop/snapshot cannot use disposition "replace"');
    expect(message).toContain("sources.shop.streams.snapshot.disposition");
  });

  it("accepts replace on a pull resource, whose run commits the refresh", () => {
    const config = parseConfig({ pulls: { api: pull({ items: { disposition: "replace" } }) } });
    expect(config.pulls.api!.resources.items!.disposition).toBe("replace");
  });
});

describe("redaction", () => {
  it("refuses a pull cursor field that the stream redacts or hashes, which D1 would otherwise hold in clear", () => {
    for (const protect of [{ redact: ["updated_at"] }, { hash: ["updated_at"] }]) {
      const message = refusal({
        pulls: {
          api: pull({
            items: { incremental: { cursorField: "updated_at", initialValue: "2026-01-01T00:00:00Z", param: "since" }, ...protect },
          }),
        },
      });
      expect(message).toContain("the cursor field updated_at is also in redact or hash");
      expect(message).toContain("pulls.api.resources.items.incremental.cursorField");
    }
  });

  it("accepts a cursor field beside other protected fields", () => {
    const config = parseConfig({
      pulls: {
        api: pull({
          items: { incremental: { cursorField: "updated_at", initialValue: "2026-01-01T00:00:00Z", param: "since" }, hash: ["email"] },
        }),
      },
    });
    expect(config.pulls.api!.resources.items!.incremental!.cursorField).toBe("updated_at");
  });
});

describe("declared columns", () => {
  it("fails config validation, naming the stream, when a schema cannot be read as columns", () => {
    const schema = z.object({ a: z.string().meta({ id: "x" }), b: z.number().meta({ id: "x" }) });
    const message = refusal({ sources: { lab: webhook({ events: {}, typed: { schema } }) } });
    expect(message).toContain("sources.lab.streams.typed.schema");
    expect(message).toContain('the stream\'s schema cannot be read as columns: Duplicate schema id "x"');
  });

  it("reads fields whose schemas carry an id, and nullable objects, instead of dropping them", () => {
    const amount = z.number().int().meta({ id: "Amount" });
    const schema = z.object({
      amount,
      fee: amount,
      customer: z.object({ name: z.string() }).meta({ id: "Customer" }),
      shipping: z.object({ city: z.string() }).nullable(),
    });
    const config = parseConfig({ sources: { lab: webhook({ events: {}, typed: { schema } }) } });
    expect(declaredColumns(config.sources.lab!.streams.typed!)).toEqual([
      { name: "amount", type: "integer" },
      { name: "fee", type: "integer" },
      { name: "customer__name", type: "text" },
      { name: "shipping__city", type: "text" },
    ]);
  });

  it("types mapped columns by their paths in the schema", () => {
    const schema = z.object({ data: z.object({ object: z.object({ id: z.string(), amount: z.number().int() }) }) });
    const config = parseConfig({
      sources: {
        lab: webhook({ events: {}, mapped: { schema, columns: { charge_id: "data.object.id", amount: "$.data.object.amount" } } }),
      },
    });
    expect(declaredColumns(config.sources.lab!.streams.mapped!)).toEqual([
      { name: "charge_id", type: "text" },
      { name: "amount", type: "integer" },
    ]);
  });
});

describe("crons", () => {
  it("refuses an invalid models, lake or pull schedule, naming the expression and where it is", () => {
    expect(refusal({ models: { schedule: "61 * * * *" } })).toBe(
      'pipeline config is invalid:\n✖ invalid cron "61 * * * *": Invalid value for minute: 61\n  → at models.schedule',
    );
    expect(refusal({ lake: { schedule: "0 0 ? * *" } })).toContain('invalid cron "0 0 ? * *": Cron Triggers do not take ?; use *');
    const message = refusal({ pulls: { api: pull({ items: { schedule: "0 * * *" } }) } });
    expect(message).toContain('invalid cron "0 * * *": a cron has five fields separated by single spaces');
    expect(message).toContain("pulls.api.resources.items.schedule");
  });

  it("refuses a cron nine characters long that is no cron, which a length check let through", () => {
    expect(refusal({ models: { schedule: "every day" } })).toContain('invalid cron "every day"');
  });

  it("accepts Cloudflare's cron dialect", () => {
    const config = parseConfig({ models: { schedule: "10 7 * * mon-fri" }, lake: { schedule: "59 23 LW * *" } });
    expect(config.models.schedule).toBe("10 7 * * mon-fri");
  });
});
