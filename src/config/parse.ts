/** Validates a pipeline config object, turning zod's issues into one readable SluiceError. */
import { z } from "zod";
import { SluiceError } from "../lib/errors.ts";
import { type SluiceConfig, sluiceConfigSchema } from "./schema.ts";

export function parseConfig(input: unknown): SluiceConfig {
  const result = sluiceConfigSchema.safeParse(input);
  if (!result.success) {
    throw new SluiceError("invalid_config", `pipeline config is invalid:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}
