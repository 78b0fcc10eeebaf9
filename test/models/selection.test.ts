import { describe, expect, it } from "vitest";
import { type SelectableNode, SelectionError, selectNodes } from "../../src/models/selection.ts";

/*
 * A small shop project:
 *
 *   seed raw_customers -> stg_customers ------------------------> customers
 *   seed raw_orders    -> stg_orders ----> orders --------------^
 *   source stripe.charges -> stg_charges --^     \-> unique_orders_order_id
 *   source github.issues  -> stg_issues -> fct_issue_events (incremental)
 *   stg_orders -> orders_snapshot, not_null_stg_orders_order_id, legacy_orders (disabled)
 *   relationships_stg_orders_customer_id: parents stg_orders and stg_customers
 *   assert_positive_charges (singular): parent stg_charges
 *   not_null_legacy_orders_order_id: parent legacy_orders, so disabled with it
 */
type Spec = Partial<SelectableNode> & { parents?: string[]; sources?: [string, string][] };

const ids = new Map<string, string>();
const make = (resourceType: SelectableNode["resourceType"], name: string, path: string, spec: Spec = {}): SelectableNode => {
  const uniqueId = `${resourceType}.shop.${name}`;
  ids.set(name, uniqueId);
  const tags = spec.tags ?? [];
  return {
    uniqueId,
    resourceType,
    name,
    path,
    tags,
    config: { enabled: true, tags, ...spec.config },
    dependsOn: {
      nodes: (spec.parents ?? []).map((parent) => ids.get(parent) ?? parent),
      sources: (spec.sources ?? []).map(([source, table]) => ({ source, table })),
    },
  };
};

const nodes: SelectableNode[] = [
  make("seed", "raw_customers", "seeds/raw_customers.csv"),
  make("seed", "raw_orders", "seeds/raw_orders.csv"),
  make("model", "stg_customers", "models/staging/stg_customers.sql", {
    parents: ["raw_customers"],
    tags: ["staging"],
    config: { materialized: "view" },
  }),
  make("model", "stg_orders", "models/staging/stg_orders.sql", {
    parents: ["raw_orders"],
    tags: ["staging", "nightly"],
    config: { materialized: "view" },
  }),
  make("model", "stg_charges", "models/staging/stripe/stg_charges.sql", {
    sources: [["stripe", "charges"]],
    tags: ["staging"],
    config: { materialized: "view" },
  }),
  make("model", "stg_issues", "models/staging/github/stg_issues.sql", {
    sources: [["github", "issues"]],
    tags: ["staging"],
    config: { materialized: "view" },
  }),
  make("model", "orders", "models/marts/orders.sql", {
    parents: ["stg_orders", "stg_charges"],
    tags: ["nightly"],
    config: { materialized: "table", meta: { owner: "finance" } },
  }),
  make("model", "customers", "models/marts/customers.sql", { parents: ["stg_customers", "orders"], config: { materialized: "table" } }),
  make("model", "fct_issue_events", "models/marts/fct_issue_events.sql", {
    parents: ["stg_issues"],
    tags: ["nightly"],
    config: { materialized: "incremental" },
  }),
  make("model", "legacy_orders", "models/marts/legacy_orders.sql", {
    parents: ["stg_orders"],
    config: { materialized: "table", enabled: false },
  }),
  make("snapshot", "orders_snapshot", "snapshots/orders_snapshot.sql", { parents: ["stg_orders"] }),
  make("test", "unique_orders_order_id", "models/marts/_marts.yml", { parents: ["orders"] }),
  make("test", "not_null_stg_orders_order_id", "models/staging/_staging.yml", { parents: ["stg_orders"] }),
  make("test", "relationships_stg_orders_customer_id", "models/staging/_staging.yml", { parents: ["stg_orders", "stg_customers"] }),
  make("test", "assert_positive_charges", "tests/assert_positive_charges.sql", { parents: ["stg_charges"] }),
  make("test", "not_null_legacy_orders_order_id", "models/marts/_marts.yml", { parents: ["legacy_orders"] }),
];

const nameOf = new Map(nodes.map((n) => [n.uniqueId, n.name]));

/** Selected node names, sorted, so each expectation reads as a list of nodes. */
const names = (select?: string[], exclude?: string[]) => [...selectNodes(nodes, { select, exclude })].map((id) => nameOf.get(id)!).sort();
const sorted = (...list: string[]) => list.sort();

const enabled = sorted(
  "raw_customers",
  "raw_orders",
  "stg_customers",
  "stg_orders",
  "stg_charges",
  "stg_issues",
  "orders",
  "customers",
  "fct_issue_events",
  "orders_snapshot",
  "unique_orders_order_id",
  "not_null_stg_orders_order_id",
  "relationships_stg_orders_customer_id",
  "assert_positive_charges",
);

describe("selectNodes", () => {
  it("selects every enabled node when nothing is selected", () => {
    expect(names()).toEqual(enabled);
    expect(names([])).toEqual(enabled);
  });

  it("returns unique ids", () => {
    expect(selectNodes(nodes, { select: ["stg_issues"] })).toEqual(new Set(["model.shop.stg_issues"]));
  });

  describe("methods", () => {
    it("matches a bare name exactly, with its tests", () => {
      expect(names(["stg_orders"])).toEqual(sorted("stg_orders", "not_null_stg_orders_order_id", "relationships_stg_orders_customer_id"));
      expect(names(["stg_order"])).toEqual([]);
      expect(names(["unique_orders_order_id"])).toEqual(["unique_orders_order_id"]);
    });

    it("matches names with * wildcards", () => {
      expect(names(["stg_*"])).toEqual(
        sorted(
          "stg_customers",
          "stg_orders",
          "stg_charges",
          "stg_issues",
          "not_null_stg_orders_order_id",
          "relationships_stg_orders_customer_id",
          "assert_positive_charges",
        ),
      );
      expect(names(["*_snapshot"])).toEqual(["orders_snapshot"]);
    });

    it("matches globs in linear time: a pattern of many *? never backtracks exponentially", () => {
      // Each path here took the old regular-expression glob seconds to refuse; all of them, tens of seconds.
      const long = make("model", "long_named", `models/${"a".repeat(40)}/long_named.sql`);
      const select = (term: string) => [...selectNodes([...nodes, long], { select: [term] })].map((id) => nameOf.get(id) ?? id).sort();
      expect(select("path:*?*?*?*?*?*?*?*X")).toEqual([]);
      expect(select("path:*?*?*?*?*?*?*?*named.sql")).toEqual(["model.shop.long_named"]);
      // Long enough to match neither the name nor the fqn ("shop.orders_snapshot"), which a bare value also matches, as in dbt.
      expect(select("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*_snapshot")).toEqual([]);
      expect(select("?*?*?*?*?*?*_snapshot")).toEqual(["orders_snapshot"]);
    });

    it("selects by tag", () => {
      expect(names(["tag:nightly"])).toEqual(
        sorted(
          "stg_orders",
          "orders",
          "fct_issue_events",
          "not_null_stg_orders_order_id",
          "relationships_stg_orders_customer_id",
          "unique_orders_order_id",
        ),
      );
      expect(names(["tag:nope"])).toEqual([]);
    });

    it("selects by folder, with or without a trailing slash, and by file", () => {
      const staging = sorted(
        "stg_customers",
        "stg_orders",
        "stg_charges",
        "stg_issues",
        "not_null_stg_orders_order_id",
        "relationships_stg_orders_customer_id",
        "assert_positive_charges",
      );
      expect(names(["path:models/staging"])).toEqual(staging);
      expect(names(["path:models/staging/"])).toEqual(staging);
      expect(names(["path:models/staging/stripe"])).toEqual(sorted("stg_charges", "assert_positive_charges"));
      expect(names(["path:models/staging/stg_orders.sql"])).toEqual(
        sorted("stg_orders", "not_null_stg_orders_order_id", "relationships_stg_orders_customer_id"),
      );
      expect(names(["path:seeds"])).toEqual(sorted("raw_customers", "raw_orders"));
      expect(names(["path:tests/assert_positive_charges.sql"])).toEqual(["assert_positive_charges"]);
      expect(names(["path:models/stag"])).toEqual([]);
    });

    it("selects nothing for a source alone, and its dependents with +", () => {
      expect(names(["source:stripe"])).toEqual([]);
      expect(names(["source:stripe.charges"])).toEqual([]);
      const stripeDownstream = sorted("stg_charges", "assert_positive_charges", "orders", "unique_orders_order_id", "customers");
      expect(names(["source:stripe+"])).toEqual(stripeDownstream);
      expect(names(["source:stripe.charges+"])).toEqual(stripeDownstream);
      expect(names(["source:stripe.charges+1"])).toEqual(sorted("stg_charges", "assert_positive_charges"));
      expect(names(["source:stripe.refunds+"])).toEqual([]);
      expect(names(["source:github+"])).toEqual(sorted("stg_issues", "fct_issue_events"));
      expect(names(["source:*.issues+"])).toEqual(sorted("stg_issues", "fct_issue_events"));
    });

    it("selects by any config key, matching membership in arrays and nested keys", () => {
      expect(names(["config.materialized:incremental"])).toEqual(["fct_issue_events"]);
      expect(names(["config.materialized:table"])).toEqual(sorted("orders", "customers", "unique_orders_order_id"));
      expect(names(["config.tags:staging"])).toEqual(names(["tag:staging"]));
      expect(names(["config.meta.owner:finance"])).toEqual(sorted("orders", "unique_orders_order_id"));
      expect(names(["config.enabled:true,resource_type:seed"])).toEqual(sorted("raw_customers", "raw_orders"));
    });

    it("selects by resource type", () => {
      expect(names(["resource_type:seed"])).toEqual(sorted("raw_customers", "raw_orders"));
      expect(names(["resource_type:snapshot"])).toEqual(["orders_snapshot"]);
      expect(names(["resource_type:test"])).toEqual(
        sorted("unique_orders_order_id", "not_null_stg_orders_order_id", "relationships_stg_orders_customer_id", "assert_positive_charges"),
      );
      // Every test here has a model parent, so eager selection brings all of them along.
      expect(names(["resource_type:model"])).toEqual(enabled.filter((n) => !n.startsWith("raw_") && n !== "orders_snapshot"));
    });

    it("never selects a disabled node or a test of one", () => {
      expect(names(["legacy_orders"])).toEqual([]);
      expect(names(["config.enabled:false"])).toEqual([]);
      expect(names(["not_null_legacy_orders_order_id"])).toEqual([]);
      expect(names(["stg_orders+"])).not.toContain("legacy_orders");
      expect(names(["path:models/marts"])).toEqual(sorted("orders", "customers", "fct_issue_events", "unique_orders_order_id"));
    });
  });

  describe("graph operators", () => {
    const ordersTests = [
      "unique_orders_order_id",
      "not_null_stg_orders_order_id",
      "relationships_stg_orders_customer_id",
      "assert_positive_charges",
    ];

    it("+x adds all ancestors", () => {
      expect(names(["+orders"])).toEqual(sorted("orders", "stg_orders", "stg_charges", "raw_orders", ...ordersTests));
    });

    it("x+ adds all descendants", () => {
      expect(names(["orders+"])).toEqual(sorted("orders", "customers", "unique_orders_order_id"));
      expect(names(["raw_orders+"])).toEqual(
        sorted(
          "raw_orders",
          "stg_orders",
          "orders",
          "customers",
          "orders_snapshot",
          "not_null_stg_orders_order_id",
          "relationships_stg_orders_customer_id",
          "unique_orders_order_id",
        ),
      );
    });

    it("n+x and x+n limit the generations", () => {
      expect(names(["1+orders"])).toEqual(sorted("orders", "stg_orders", "stg_charges", ...ordersTests));
      expect(names(["2+customers"])).toEqual(
        sorted("customers", "stg_customers", "orders", "raw_customers", "stg_orders", "stg_charges", ...ordersTests),
      );
      expect(names(["stg_orders+1"])).toEqual(
        sorted(
          "stg_orders",
          "orders",
          "orders_snapshot",
          "not_null_stg_orders_order_id",
          "relationships_stg_orders_customer_id",
          "unique_orders_order_id",
        ),
      );
      expect(names(["0+orders+0"])).toEqual(names(["orders"]));
      expect(names(["1+stg_orders+1"])).toEqual(sorted("raw_orders", ...names(["stg_orders+1"])));
    });

    it("+x+ adds both", () => {
      expect(names(["+customers+"])).toEqual(
        sorted("customers", "stg_customers", "orders", "raw_customers", "stg_orders", "stg_charges", "raw_orders", ...ordersTests),
      );
      expect(names(["+stg_issues+"])).toEqual(sorted("stg_issues", "fct_issue_events"));
    });

    it("@x adds descendants and all their ancestors", () => {
      expect(names(["stg_customers+"])).toEqual(sorted("stg_customers", "customers", "relationships_stg_orders_customer_id"));
      // customers and the relationships test also need orders and stg_orders, and their parents.
      expect(names(["@stg_customers"])).toEqual(
        sorted("raw_customers", "raw_orders", "stg_customers", "stg_orders", "stg_charges", "orders", "customers", ...ordersTests),
      );
      expect(names(["@source:github"])).toEqual(sorted("stg_issues", "fct_issue_events"));
    });

    it("applies operators to every node a method matches", () => {
      expect(names(["tag:nightly+"])).toEqual(
        sorted(
          "stg_orders",
          "orders",
          "customers",
          "fct_issue_events",
          "orders_snapshot",
          "not_null_stg_orders_order_id",
          "relationships_stg_orders_customer_id",
          "unique_orders_order_id",
        ),
      );
    });
  });

  describe("set operators", () => {
    it("unions space-separated terms and separate arguments alike", () => {
      const expected = sorted("stg_orders", "stg_issues", "not_null_stg_orders_order_id", "relationships_stg_orders_customer_id");
      expect(names(["stg_orders stg_issues"])).toEqual(expected);
      expect(names(["stg_orders", "stg_issues"])).toEqual(expected);
      expect(names(["  stg_orders   stg_issues "])).toEqual(expected);
    });

    it("intersects comma-separated expressions", () => {
      expect(names(["tag:nightly,path:models/staging"])).toEqual(
        sorted("stg_orders", "not_null_stg_orders_order_id", "relationships_stg_orders_customer_id"),
      );
      expect(names(["+orders,resource_type:seed"])).toEqual(["raw_orders"]);
      expect(names(["tag:nightly,config.materialized:incremental stg_customers"])).toEqual(
        sorted("fct_issue_events", "stg_customers", "relationships_stg_orders_customer_id"),
      );
      expect(names(["tag:staging,tag:nightly,resource_type:seed"])).toEqual([]);
    });
  });

  describe("exclude", () => {
    it("removes excluded nodes and their tests", () => {
      expect(names(["+orders"], ["stg_charges"])).toEqual(
        sorted(
          "orders",
          "stg_orders",
          "raw_orders",
          "unique_orders_order_id",
          "not_null_stg_orders_order_id",
          "relationships_stg_orders_customer_id",
        ),
      );
    });

    it("drops a test when any of its parents is excluded", () => {
      expect(names(["stg_orders"], ["stg_customers"])).toEqual(sorted("stg_orders", "not_null_stg_orders_order_id"));
    });

    it("keeps an excluded test excluded even though its parent is selected", () => {
      expect(names(["stg_orders"], ["relationships_stg_orders_customer_id"])).toEqual(sorted("stg_orders", "not_null_stg_orders_order_id"));
      expect(names(["stg_orders"], ["resource_type:test"])).toEqual(["stg_orders"]);
    });

    it("excludes from every node when nothing is selected, with the same syntax as select", () => {
      expect(names(undefined, ["tag:staging"])).toEqual(
        sorted("raw_customers", "raw_orders", "orders", "customers", "fct_issue_events", "orders_snapshot", "unique_orders_order_id"),
      );
      expect(names(undefined, ["source:stripe+ path:seeds resource_type:test"])).toEqual(
        sorted("stg_issues", "fct_issue_events", "stg_customers", "stg_orders", "orders_snapshot"),
      );
      expect(names(["tag:nightly"], ["tag:nightly,resource_type:model"])).toEqual([]);
    });
  });

  describe("errors", () => {
    const fails = (select: string[], message: RegExp | string, exclude?: string[]) => {
      const run = () => selectNodes(nodes, { select, exclude });
      expect(run).toThrow(SelectionError);
      expect(run).toThrow(message);
    };

    it("rejects empty arguments and terms", () => {
      fails([""], 'empty selector argument ""');
      fails(["   "], "empty selector argument");
      fails(["a,,b"], 'empty expression in selector "a,,b"');
      fails(["orders,"], 'empty expression in selector "orders,"');
      fails([",orders"], "empty expression");
      fails(["orders , customers"], 'empty expression in selector ","');
    });

    it("rejects malformed graph operators", () => {
      fails(["x+y+"], 'malformed selector "x+y+"');
      fails(["orders++"], "malformed selector");
      fails(["+"], 'malformed selector "+"');
      fails(["orders+1x"], "malformed selector");
      fails(["@orders+"], 'selector "@orders+" combines "@" with "+"');
      fails(["@+orders"], 'combines "@" with "+"');
    });

    it("rejects unknown methods and bad values", () => {
      fails(["foo:bar"], 'unknown selector method "foo" in "foo:bar"');
      fails(["config:materialized"], 'unknown selector method "config"');
      fails([":orders"], 'unknown selector method ""');
      fails(["tag:"], 'selector "tag:" has no value after "tag:"');
      fails(["resource_type:source"], "resource type must be one of model, seed, test, snapshot");
      fails(["source:a.b.c+"], "expected source:<source> or source:<source>.<table>");
      fails(["source:stripe.+"], "expected source:<source> or source:<source>.<table>");
    });

    it("validates exclude, even with nothing selected", () => {
      fails(["orders"], 'unknown selector method "bogus"', ["bogus:x"]);
      expect(() => selectNodes(nodes, { exclude: ["x+y+"] })).toThrow(SelectionError);
    });

    it("names itself", () => {
      expect(() => names(["foo:bar"])).toThrow(expect.objectContaining({ name: "SelectionError" }));
    });
  });
});
