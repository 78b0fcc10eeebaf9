/**
 * The selectors of selectors.yml as the manifest keeps them: trees of unions, intersections and
 * exclusions over criteria. compile/selectors.ts builds them; selection.ts evaluates them.
 */
import { z } from "zod";

export const indirectSelections = ["eager", "cautious", "buildable", "empty"] as const;
export type IndirectSelection = (typeof indirectSelections)[number];

export const criterionSchema = z.object({
  /** "" is the bare method (a name or fqn). */
  method: z.string(),
  value: z.string(),
  parents: z.boolean(),
  /** null: every generation. */
  parentsDepth: z.number().int().nullable(),
  children: z.boolean(),
  childrenDepth: z.number().int().nullable(),
  childrensParents: z.boolean(),
  indirect: z.enum(indirectSelections),
});
export type Criterion = z.infer<typeof criterionSchema>;

export type SelectorTree = (
  | { union: SelectorTree[] }
  | { intersection: SelectorTree[] }
  | { criterion: Criterion }
  /** CLI syntax, as `--select` takes it. */
  | { args: string[] }
) & { exclude?: SelectorTree | undefined };

export const selectorTreeSchema: z.ZodType<SelectorTree> = z.lazy(() =>
  z.union([
    z.object({ union: z.array(selectorTreeSchema), exclude: selectorTreeSchema.optional() }),
    z.object({ intersection: z.array(selectorTreeSchema), exclude: selectorTreeSchema.optional() }),
    z.object({ criterion: criterionSchema, exclude: selectorTreeSchema.optional() }),
    z.object({ args: z.array(z.string()), exclude: selectorTreeSchema.optional() }),
  ]),
);

export const selectorsSchema = z.record(
  z.string(),
  z.object({ description: z.string().default(""), default: z.boolean().default(false), definition: selectorTreeSchema }),
);
export type Selectors = z.infer<typeof selectorsSchema>;
