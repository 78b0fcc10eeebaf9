/**
 * selectors.yml: what it compiles to, and each mistake failing the compile with the file, line and
 * an exact message.
 */
import { describe, expect, it } from "vitest";
import { CompileError, compileManifest } from "../../src/models/compile/index.ts";

const compile = (yaml: string) =>
  compileManifest({
    project: "sel",
    models: [{ path: "models/orders.sql", sql: "select 1 as id" }],
    selectors: { path: "selectors.yml", yaml },
    sources: {},
  });

describe("selectors.yml", () => {
  it("compiles CLI syntax, key-value and full definitions, inlining selector references", async () => {
    const manifest = await compile(`selectors:
  - name: nightly
    default: true
    definition: "tag:nightly+"
  - name: both
    description: Orders and the nightly selector, without snapshots
    definition:
      union:
        - {fqn: orders}
        - method: selector
          value: nightly
        - exclude:
            - method: resource_type
              value: snapshot
              parents_depth: 1
`);
    expect(manifest.selectors).toEqual({
      nightly: { description: "", default: true, definition: { args: ["tag:nightly+"] } },
      both: {
        description: "Orders and the nightly selector, without snapshots",
        default: false,
        definition: {
          union: [
            {
              criterion: {
                method: "fqn",
                value: "orders",
                parents: false,
                parentsDepth: null,
                children: false,
                childrenDepth: null,
                childrensParents: false,
                indirect: "eager",
              },
            },
            { args: ["tag:nightly+"] },
          ],
          exclude: {
            criterion: {
              method: "resource_type",
              value: "snapshot",
              parents: true,
              parentsDepth: 1,
              children: false,
              childrenDepth: null,
              childrensParents: false,
              indirect: "eager",
            },
          },
        },
      },
    });
  });

  const method = (definition: string) => `selectors:\n  - name: s\n    definition:\n${definition}\n`;
  it.each([
    ["no selectors list", "selectors: {}\n", "selectors.yml: expected a list under selectors:"],
    ["no definition", "selectors:\n  - name: s\n", "selectors.yml:2: a selector needs a name and a definition"],
    [
      "unknown key",
      "selectors:\n  - name: s\n    definition: orders\n    owner: me\n",
      'selectors.yml:4: unknown key "owner" in selector "s"',
    ],
    [
      "defined twice",
      "selectors:\n  - name: s\n    definition: a\n  - name: s\n    definition: b\n",
      'selectors.yml:4: selector "s" is defined twice',
    ],
    [
      "two defaults",
      "selectors:\n  - name: a\n    default: true\n    definition: a\n  - name: b\n    default: true\n    definition: b\n",
      'selectors.yml:5: only one selector can be the default; "a" and "b" both are',
    ],
    [
      "bad method",
      method("      method: owner\n      value: me"),
      'selectors.yml:3: selector "s": unknown selector method "owner" in "owner:me"; expected a node name or one of fqn:, file:, tag:, path:, source:, resource_type:, test_type:, config.<key>:, result:, state:',
    ],
    [
      "bad method in CLI syntax",
      method('      "orders,owner:me"'),
      'selectors.yml:3: selector "s": unknown selector method "owner" in "owner:me"; expected a node name or one of fqn:, file:, tag:, path:, source:, resource_type:, test_type:, config.<key>:, result:, state:',
    ],
    [
      "bad value",
      method("      test_type: integration"),
      'selectors.yml:3: selector "s": selector "test_type:integration": test type must be one of generic, singular, unit',
    ],
    [
      "unknown selector",
      method("      method: selector\n      value: nightly"),
      'selectors.yml:3: selector "s": method selector names "nightly", which selectors.yml does not define',
    ],
    [
      "cycle",
      "selectors:\n  - name: a\n    definition: {method: selector, value: b}\n  - name: b\n    definition: {method: selector, value: a}\n",
      "selectors.yml:2: selectors refer to each other in a cycle: a -> b -> a",
    ],
    [
      "two keys",
      method("      tag: nightly\n      fqn: orders"),
      'selectors.yml:3: selector "s": expected one key (method: value), or method and value, got tag, fqn',
    ],
    [
      "unknown key in a full definition",
      method("      method: tag\n      value: nightly\n      childrens: true"),
      'selectors.yml:6: selector "s": unknown key "childrens"',
    ],
    [
      "bad indirect selection",
      method("      method: tag\n      value: nightly\n      indirect_selection: lazy"),
      'selectors.yml:6: selector "s": indirect_selection must be one of eager, cautious, buildable, empty',
    ],
    [
      "two excludes",
      method("      union:\n        - a\n        - exclude: [b]\n        - exclude: [c]"),
      'selectors.yml:7: selector "s": a union takes one exclude',
    ],
    [
      "only an exclude",
      method("      intersection:\n        - exclude: [b]"),
      'selectors.yml:3: selector "s": intersection needs something to include beside its exclude',
    ],
    [
      "childrens_parents with parents",
      method("      method: tag\n      value: nightly\n      parents: true\n      childrens_parents: true"),
      'selectors.yml:3: selector "s": childrens_parents combines with neither parents nor children',
    ],
    [
      "invalid YAML",
      "selectors: [\n",
      "selectors.yml: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1:",
    ],
  ])("refuses %s", async (_, yaml, message) => {
    await expect(() => compile(yaml)).rejects.toThrow(new CompileError(message));
  });
});
