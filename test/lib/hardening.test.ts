/**
 * Hardening: rate limits with the real rate limiting binding (tight limiters from the test
 * config, swapped in for the configured ones), security headers on every kind of response, and
 * fault injection that only local runs can turn on.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../src/config/index.ts";
import { parseSettings } from "../../src/env.ts";
import { parseFaults } from "../../src/lib/faults.ts";
import { adminToken, reportToken } from "../support/fixtures.ts";
import { genericWebhook } from "../support/http.ts";
import { signedRequest } from "../support/sign.ts";
import { call, freshRateWindow, origin, recordingQueue } from "../support/worker.ts";

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

describe("rate limits", () => {
  it("answers 429 with Retry-After once a source has spent its budget", async () => {
    await freshRateWindow(10);
    const overrides = { WEBHOOK_LIMITER: env.TIGHT_WEBHOOK_LIMITER };
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await call(await genericWebhook(origin, { body: JSON.stringify({ type: "rl", i }), eventId: `rate-limited-${i}` }), overrides);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    expect(last!.headers.get("Retry-After")).toBe("10");
    expect(await errorOf(last!)).toMatchObject({
      code: "rate_limited",
      message: 'too many deliveries to source "generic"; retry after 10 s',
    });
  });

  it("answers 429 to an address that keeps failing authentication, then refuses it outright", async () => {
    await freshRateWindow(60);
    const overrides = { AUTH_FAILURE_LIMITER: env.TIGHT_AUTH_FAILURE_LIMITER };
    const headers = { authorization: "Bearer wrong-token", "cf-connecting-ip": "203.0.113.9" };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(new Request(`${origin}/v1/loads`, { headers }), overrides)).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
    const limited = await call(new Request(`${origin}/v1/reports`, { headers }), overrides);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(55);
    expect((await errorOf(limited)).code).toBe("rate_limited");
    // While blocked, even the right token is refused: guessing learns nothing.
    const right = await call(
      new Request(`${origin}/v1/loads`, { headers: { ...headers, authorization: `Bearer ${adminToken}` } }),
      overrides,
    );
    expect(right.status).toBe(429);
    // Another address is unaffected.
    const other = await call(new Request(`${origin}/v1/loads`, { headers: { ...headers, "cf-connecting-ip": "198.51.100.7" } }), overrides);
    expect(other.status).toBe(401);
  });

  it("counts forged webhook signatures as failed authentication", async () => {
    await freshRateWindow(60);
    const overrides = { AUTH_FAILURE_LIMITER: env.TIGHT_AUTH_FAILURE_LIMITER };
    const forged = async () =>
      call(
        new Request(`${origin}/v1/webhooks/generic`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-sluice-signature": `sha256=${"0".repeat(64)}`,
            "cf-connecting-ip": "192.0.2.44",
          },
          body: "{}",
        }),
        overrides,
      );
    expect([(await forged()).status, (await forged()).status, (await forged()).status]).toEqual([401, 401, 429]);
    expect((await forged()).status).toBe(429);
  });

  it("never refuses a genuine delivery because forgeries from the same address were blocked", async () => {
    await freshRateWindow(60);
    // A provider's egress addresses are shared by everyone who points an account of theirs at Sluice.
    const overrides = { AUTH_FAILURE_LIMITER: env.TIGHT_AUTH_FAILURE_LIMITER, INGEST: recordingQueue(env.INGEST).queue };
    const address = "192.0.2.45";
    const forged = async () => {
      const request = await signedRequest(origin, "github", JSON.stringify({ forged: true }), { secret: "someone-elses-secret" });
      request.headers.set("cf-connecting-ip", address);
      return call(request, overrides);
    };
    expect([(await forged()).status, (await forged()).status, (await forged()).status]).toEqual([401, 401, 429]);

    // Blocked: a genuine delivery from the address is verified and accepted all the same...
    const genuine = await signedRequest(origin, "github", JSON.stringify({ genuine: true }), { id: "shared-address-genuine" });
    genuine.headers.set("cf-connecting-ip", address);
    const accepted = await call(genuine, overrides);
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toEqual({ accepted: 1, key: "shared-address-genuine" });
    // ...while the forgeries from it are still answered 429 (with its own signature failing), ...
    const refused = await forged();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(55);
    // ...and so is one with no signature at all, refused before its body is read.
    const unsigned = new Request(`${origin}/v1/webhooks/github`, { method: "POST", headers: { "cf-connecting-ip": address }, body: "{}" });
    expect((await call(unsigned, overrides)).status).toBe(429);
    expect(unsigned.bodyUsed).toBe(false);
  });

  it("counts a source's deliveries against the limiter binding it names for itself", async () => {
    await freshRateWindow(10);
    const github = getConfig().sources.github!;
    github.rateLimit = { binding: "TIGHT_WEBHOOK_LIMITER", periodSeconds: 10 };
    try {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 4; i++) {
        last = await call(await signedRequest(origin, "github", JSON.stringify({ own: i })), { INGEST: recordingQueue(env.INGEST).queue });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([202, 202, 202, 429]);
      expect(last!.headers.get("Retry-After")).toBe("10");
      expect(await errorOf(last!)).toMatchObject({
        code: "rate_limited",
        message: 'too many deliveries to source "github"; retry after 10 s',
      });
      // Other sources count against WEBHOOK_LIMITER, untouched by github's budget.
      expect(
        (
          await call(
            await signedRequest(origin, "stripe", JSON.stringify({ id: "evt_own_limiter", data: { object: { object: "charge" } } })),
          )
        ).status,
      ).toBe(202);
    } finally {
      delete github.rateLimit;
    }
  });

  it("spends a source's budget only on authentic deliveries, so forgeries cannot crowd a provider out", async () => {
    await freshRateWindow(60);
    await freshRateWindow(10);
    const overrides = { WEBHOOK_LIMITER: env.TIGHT_WEBHOOK_LIMITER, AUTH_FAILURE_LIMITER: env.TIGHT_AUTH_FAILURE_LIMITER };
    for (let i = 0; i < 2; i++) {
      const forged = await call(
        new Request(`${origin}/v1/webhooks/standard`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "webhook-id": `msg_${i}`,
            "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
            "webhook-signature": "v1,AAAA",
            "cf-connecting-ip": `198.51.100.${20 + i}`,
          },
          body: "{}",
        }),
        overrides,
      );
      expect(forged.status).toBe(401);
    }
    // The tight limiter allows 3 per source: all 3 genuine deliveries to this source get through.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const request = await signedRequest(origin, "standard", JSON.stringify({ type: "budget", i }));
      statuses.push((await call(request, overrides)).status);
    }
    expect(statuses).toEqual([202, 202, 202]);
  });
});

describe("security headers", () => {
  const paths: [string, Record<string, string>, number][] = [
    ["/v1/health", {}, 200],
    ["/v1/reports", { authorization: `Bearer ${reportToken}` }, 200],
    ["/v1/loads", {}, 401],
    ["/metrics", { authorization: `Bearer ${adminToken}` }, 200],
    ["/openapi.json", {}, 200],
  ];
  for (const [path, headers, status] of paths) {
    it(`${path} (${status}) forbids sniffing, framing and every content source`, async () => {
      const response = await call(new Request(`${origin}${path}`, { headers }));
      expect(response.status).toBe(status);
      expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(response.headers.get("X-Frame-Options")).toBe("DENY");
      expect(response.headers.get("Content-Security-Policy")).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
    });
  }

  it("pages keep their own policy: the dashboard's sign-in and the API docs", async () => {
    const signIn = await call(new Request(`${origin}/sign-in`));
    expect(signIn.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    expect(signIn.headers.get("Content-Security-Policy")).toContain("style-src 'unsafe-inline'");
    expect(signIn.headers.get("X-Frame-Options")).toBe("DENY");
    const docs = await call(new Request(`${origin}/docs`));
    expect(docs.headers.get("Content-Security-Policy")).toBe("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  });
});

describe("fault injection", () => {
  it("parses one fraction for every kind, or a list per kind, and rejects unknown kinds", () => {
    expect(parseFaults(undefined)).toBeUndefined();
    expect(parseFaults("0")).toBeUndefined();
    expect(parseFaults("0.05")).toEqual({ d1: 0.05, r2: 0.05, queue: 0.05, consumer: 0.05 });
    expect(parseFaults("d1=0.1, queue=0.2")).toEqual({ d1: 0.1, r2: 0, queue: 0.2, consumer: 0 });
    expect(() => parseFaults("disk=0.1")).toThrow('SLUICE_FAULTS: unknown kind "disk"; use d1, r2, queue, consumer');
    expect(() => parseFaults("d1=2")).toThrow();
  });

  it("cannot be turned on in staging or production", () => {
    for (const SLUICE_ENV of ["staging", "production"]) {
      expect(() => parseSettings({ ...env, SLUICE_ENV, SLUICE_FAULTS: "0.05" } as Env, getConfig())).toThrow(
        `SLUICE_FAULTS is for local runs only; unset it in ${SLUICE_ENV}`,
      );
    }
    // It fails closed: a Worker that does not say it is local cannot inject faults either.
    const { SLUICE_ENV: _local, ...unmarked } = env;
    expect(() => parseSettings({ ...unmarked, SLUICE_FAULTS: "0.05" } as unknown as Env, getConfig())).toThrow(
      "SLUICE_FAULTS is for local runs only; unset it in a Worker whose SLUICE_ENV is not local",
    );
    expect(parseSettings({ ...env, SLUICE_FAULTS: "0.05" } as Env, getConfig()).faults?.faults.d1).toBe(0.05);
    expect(parseSettings(env, getConfig()).faults).toBeUndefined();
  });

  it("fails D1, R2 and queue calls before or after they take effect", async () => {
    const settings = parseSettings({ ...env, SLUICE_FAULTS: "1" } as Env, getConfig());
    const faulty = settings.faults!.wrap(env);
    await expect(faulty.DB.prepare("SELECT 1").first()).rejects.toThrow(/injected fault \(SLUICE_FAULTS\): d1 statement first/);
    await expect(faulty.DB.batch([faulty.DB.prepare("SELECT 1")])).rejects.toThrow(/d1 batch/);
    await expect(faulty.RAW.put("faults/probe", "x")).rejects.toThrow(/r2 put faults\/probe/);
    await expect(faulty.INGEST.send({ v: 1 })).rejects.toThrow(/queue INGEST.send/);
  });
});

describe("no benchmark switch", () => {
  it("applies the webhook limit whatever the vars say: the old baseline switch lifts nothing", async () => {
    await freshRateWindow(10);
    const overrides = { SLUICE_BENCH_BASELINE: "1", WEBHOOK_LIMITER: env.TIGHT_WEBHOOK_LIMITER } as Partial<Env>;
    // Shopify's budget: no other test here spends it on the tight limiter.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await call(await signedRequest(origin, "shopify", JSON.stringify({ i })), overrides)).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
  });

  it("serves no baseline route: a benchmark's floor is a Worker of its own", async () => {
    const response = await call(new Request(`${origin}/__bench/baseline`, { method: "POST" }), {
      SLUICE_BENCH_BASELINE: "1",
    } as Partial<Env>);
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: "not_found", message: "no route for POST /__bench/baseline" });
  });
});
