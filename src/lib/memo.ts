/**
 * Per-isolate memos: field names, config paths, statement texts. Their inputs repeat for every
 * record or batch, so each value is worked out once; a memo that fills up is emptied whole, which
 * bounds it against an unbounded set of inputs at no bookkeeping cost.
 */
export class Memo<T> {
  readonly #values = new Map<string, T>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The value for `key`, computed by `compute` the first time; `key` must name all it depends on. */
  get(key: string, compute: () => T): T {
    let value = this.#values.get(key);
    if (value === undefined) {
      if (this.#values.size >= this.#limit) this.#values.clear();
      value = compute();
      this.#values.set(key, value);
    }
    return value;
  }
}

/** `compute`, remembered for up to `limit` keys. */
export function memoize<T>(limit: number, compute: (key: string) => T): (key: string) => T {
  const memo = new Memo<T>(limit);
  return (key) => memo.get(key, () => compute(key));
}
