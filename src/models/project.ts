/**
 * The shape of the compiled project (the manifest), shared by the build script that writes it
 * and the Worker that reads it.
 */
import { z } from "zod";

export const materializations = ["table", "view"] as const;

export const modelConfigSchema = z
  .object({
    materialized: z.enum(materializations).default("view"),
    tags: z.array(z.string()).default([]),
    enabled: z.boolean().default(true),
  })
  .strict();

export const modelNodeSchema = z.object({
  uniqueId: z.string(),
  name: z.string(),
  /** Path relative to the pipeline folder, for messages. */
  path: z.string(),
  rawSql: z.string(),
  config: modelConfigSchema,
  dependsOn: z.object({
    models: z.array(z.string()),
    sources: z.array(z.object({ source: z.string(), table: z.string() })),
  }),
});

export const manifestSchema = z.object({
  version: z.literal(1),
  project: z.string(),
  generatedAt: z.string(),
  /** In dependency order: every node comes after the nodes it refs. */
  nodes: z.array(modelNodeSchema),
});

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type ModelNode = z.infer<typeof modelNodeSchema>;
export type Manifest = z.infer<typeof manifestSchema>;
