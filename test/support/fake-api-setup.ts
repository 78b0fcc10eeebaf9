/** vitest globalSetup: serves the fake API for the workerd tests, which reach it over HTTP. */
import type { TestProject } from "vitest/node";
import { startFakeApi } from "./fake-api.ts";

export default async function setup(project: TestProject) {
  const api = await startFakeApi();
  project.provide("fakeApiUrl", api.url);
  return () => api.close();
}

declare module "vitest" {
  export interface ProvidedContext {
    fakeApiUrl: string;
  }
}
