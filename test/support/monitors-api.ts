/** The monitors API as a test calls it: admin GETs, and the exact 404 of a monitor it does not know. */
import { expect } from "vitest";
import { adminToken } from "./fixtures.ts";
import { call, origin } from "./worker.ts";

export const adminGet = (path: string) => call(new Request(`${origin}${path}`, { headers: { authorization: `Bearer ${adminToken}` } }));

/** Both the series and the anomalies of `id` answer 404 with the exact error body. */
export async function expectNoMonitor(id: string): Promise<void> {
  for (const path of [`/v1/monitors/${encodeURIComponent(id)}/series`, `/v1/anomalies?monitor=${encodeURIComponent(id)}`]) {
    const response = await adminGet(path);
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 404,
      body: { error: { code: "not_found", message: `no monitor ${id}`, requestId: expect.any(String) } },
    });
  }
}
