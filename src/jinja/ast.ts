/**
 * The parsed template. Every node carries its source line; `a` is true when evaluating the node
 * may await (it contains a call), so the evaluator can take a synchronous path otherwise.
 */

interface Base {
  line: number;
  a: boolean;
}

export type Expr =
  | (Base & { k: "const"; value: unknown })
  | (Base & { k: "name"; name: string })
  | (Base & { k: "list"; items: Expr[] })
  | (Base & { k: "tuple"; items: Expr[] })
  | (Base & { k: "dict"; pairs: [Expr, Expr][] })
  | (Base & { k: "bin"; op: string; l: Expr; r: Expr })
  | (Base & { k: "unary"; op: "-" | "+" | "not"; v: Expr })
  | (Base & { k: "and" | "or"; l: Expr; r: Expr })
  | (Base & { k: "concat"; items: Expr[] })
  | (Base & { k: "compare"; first: Expr; ops: [string, Expr][] })
  | (Base & { k: "cond"; test: Expr; yes: Expr; else_: Expr | null })
  | (Base & { k: "getattr"; obj: Expr; name: string })
  | (Base & { k: "getitem"; obj: Expr; key: Expr })
  | (Base & { k: "slice"; start: Expr | null; stop: Expr | null; step: Expr | null })
  | CallExpr
  /** In a filter block or block set, the innermost filter of the chain has v = null: the body. */
  | (Base & { k: "filter"; v: Expr | null; name: string } & Args)
  | (Base & { k: "test"; v: Expr; name: string; negated: boolean } & Args);

export interface Args {
  args: Expr[];
  kwargs: [string, Expr][];
  star: Expr | null;
  starstar: Expr | null;
}
export type CallExpr = Base & { k: "call"; fn: Expr } & Args;

/** Assignment targets: a name, a tuple of targets, or `ns.attr`. */
export type Target = { k: "name"; name: string } | { k: "tuple"; items: Target[] } | { k: "nsattr"; name: string; attr: string };

export interface Param {
  name: string;
  default_: Expr | null;
}

export interface MacroDef {
  name: string;
  params: Param[];
  body: Node[];
  usesCaller: boolean;
  usesVarargs: boolean;
  usesKwargs: boolean;
}

export type Node =
  | (Base & { k: "text"; s: string })
  | (Base & { k: "print"; e: Expr })
  | (Base & { k: "if"; test: Expr; body: Node[]; else_: Node[] })
  | (Base & { k: "for"; target: Target; iter: Expr; filter: Expr | null; body: Node[]; else_: Node[] })
  | (Base & { k: "set"; target: Target; value: Expr })
  | (Base & { k: "setblock"; target: Target; filter: Expr | null; body: Node[] })
  | (Base & { k: "macro"; def: MacroDef })
  | (Base & { k: "callblock"; call: CallExpr; def: MacroDef })
  | (Base & { k: "filterblock"; filter: Expr; body: Node[] })
  | (Base & { k: "with"; targets: [Target, Expr][]; body: Node[] })
  | (Base & { k: "do"; e: Expr })
  | (Base & { k: "break" | "continue" });
