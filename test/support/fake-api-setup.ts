/**
 * vitest globalSetup: serves the fake API for the workerd tests, which reach it over HTTP. The
 * redirect tests get two of their own, since test files run in parallel and reset what they use:
 * one that redirects, and one on another origin (another port) that it redirects to, which takes
 * any request, logs the headers it received and serves items of its own, as a stranger's would.
 */
import type { TestProject } from "vitest/node";
import { startFakeApi } from "./fake-api.ts";

export default async function setup(project: TestProject) {
  const api = await startFakeApi();
  const redirecting = await startFakeApi();
  const elsewhere = await startFakeApi({
    token: null,
    items: Array.from({ length: 95 }, (_, i) => ({ id: i + 1, name: `elsewhere ${i + 1}` })),
  });
  project.provide("fakeApiUrl", api.url);
  project.provide("redirectingApiUrl", redirecting.url);
  project.provide("otherOriginApiUrl", elsewhere.url);
  return async () => {
    for (const server of [api, redirecting, elsewhere]) await server.close();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    fakeApiUrl: string;
    redirectingApiUrl: string;
    otherOriginApiUrl: string;
  }
}
