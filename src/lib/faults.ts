/**
 * Fault injection, for proving locally that failures lose and duplicate nothing. Off unless the
 * `SLUICE_FAULTS` var is set, and refused wherever `SLUICE_ENV` names a deployed environment.
 *
 * `SLUICE_FAULTS` is one fraction for every kind (`0.05`) or a list of `kind=fraction`
 * (`d1=0.05,r2=0.05,queue=0.05,consumer=0.02`). The kinds:
 * - `d1`: a D1 statement or batch fails, half the time before it runs and half the time after it
 *   has committed (the answer lost on the way back, the harder case for a retry);
 * - `r2`: an R2 put fails, before or after the write, likewise;
 * - `queue`: a queue send fails, before or after the message is enqueued, likewise;
 * - `consumer`: a queue consumer throws at one of its checkpoints, so the batch is retried.
 */
import { z } from "zod";

export const faultKinds = ["d1", "r2", "queue", "consumer"] as const;
export type FaultKind = (typeof faultKinds)[number];
export type Faults = Record<FaultKind, number>;

/** Environments a deploy targets; fault injection never runs in them. */
export const deployedEnvironments = ["staging", "production"] as const;

const fraction = z.coerce.number().min(0).max(1);

export class InjectedFault extends Error {
  constructor(kind: FaultKind, where: string) {
    super(`injected fault (SLUICE_FAULTS): ${kind} ${where}`);
    this.name = "InjectedFault";
  }
}

/** Parses `SLUICE_FAULTS`; undefined when unset or all zero. */
export function parseFaults(spec: string | undefined): Faults | undefined {
  if (!spec || spec.trim() === "") return undefined;
  const faults: Faults = { d1: 0, r2: 0, queue: 0, consumer: 0 };
  const parts = spec
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  if (parts.length === 1 && !parts[0]!.includes("=")) {
    const all = fraction.parse(parts[0]);
    return all > 0 ? { d1: all, r2: all, queue: all, consumer: all } : undefined;
  }
  for (const part of parts) {
    const [kind, value] = part.split("=").map((s) => s.trim());
    if (!faultKinds.includes(kind as FaultKind)) {
      throw new Error(`SLUICE_FAULTS: unknown kind "${kind}"; use ${faultKinds.join(", ")}`);
    }
    faults[kind as FaultKind] = fraction.parse(value);
  }
  return Object.values(faults).some((f) => f > 0) ? faults : undefined;
}

export class FaultInjector {
  readonly faults: Faults;
  readonly #random: () => number;

  constructor(faults: Faults, random: () => number = Math.random) {
    this.faults = faults;
    this.#random = random;
  }

  /** Throws an injected fault with the kind's probability. */
  maybeFail(kind: FaultKind, where: string): void {
    if (this.faults[kind] > 0 && this.#random() < this.faults[kind]) throw new InjectedFault(kind, where);
  }

  /** Runs `operation`, failing it with the kind's probability either before it starts or after it completes. */
  async around<T>(kind: FaultKind, where: string, operation: () => Promise<T>): Promise<T> {
    const fail = this.faults[kind] > 0 && this.#random() < this.faults[kind];
    const afterwards = fail && this.#random() < 0.5;
    if (fail && !afterwards) throw new InjectedFault(kind, `${where} (before)`);
    const result = await operation();
    if (afterwards) throw new InjectedFault(kind, `${where} (after it completed)`);
    return result;
  }

  /** The bindings with faults injected into D1, R2 puts and queue sends. */
  wrap(env: Env): Env {
    return {
      ...env,
      DB: this.wrapD1(env.DB),
      RAW: this.wrapR2(env.RAW),
      INGEST: this.wrapQueue(env.INGEST, "INGEST"),
      PULL: this.wrapQueue(env.PULL, "PULL"),
    };
  }

  private wrapD1(db: D1Database): D1Database {
    // Statements stay real (batch() accepts only its own), wrapped in proxies whose run, all,
    // first and raw may fail; batch() unwraps them.
    const real = new WeakMap<object, D1PreparedStatement>();
    const wrapStatement = (statement: D1PreparedStatement): D1PreparedStatement => {
      const proxy = new Proxy(statement, {
        get: (target, property) => {
          if (property === "bind") return (...values: unknown[]) => wrapStatement(target.bind(...values));
          if (property === "run" || property === "all" || property === "first" || property === "raw") {
            const method = target[property] as (...args: unknown[]) => Promise<unknown>;
            return (...args: unknown[]) => this.around("d1", `statement ${String(property)}`, () => method.apply(target, args));
          }
          return passThrough(target, property);
        },
      });
      real.set(proxy, statement);
      return proxy;
    };
    return new Proxy(db, {
      get: (target, property) => {
        if (property === "prepare") return (query: string) => wrapStatement(target.prepare(query));
        if (property === "batch") {
          return (statements: D1PreparedStatement[]) =>
            this.around("d1", "batch", () => target.batch(statements.map((statement) => real.get(statement) ?? statement)));
        }
        if (property === "exec") return (query: string) => this.around("d1", "exec", () => target.exec(query));
        return passThrough(target, property);
      },
    });
  }

  private wrapR2(bucket: R2Bucket): R2Bucket {
    return new Proxy(bucket, {
      get: (target, property) => {
        if (property === "put") {
          return (...args: Parameters<R2Bucket["put"]>) => this.around("r2", `put ${String(args[0])}`, () => target.put(...args));
        }
        return passThrough(target, property);
      },
    });
  }

  private wrapQueue<Body>(queue: Queue<Body>, name: string): Queue<Body> {
    return {
      metrics: () => queue.metrics(),
      send: (body, options) => this.around("queue", `${name}.send`, () => queue.send(body, options)),
      sendBatch: (messages, options) => this.around("queue", `${name}.sendBatch`, () => queue.sendBatch(messages, options)),
    } as Queue<Body>;
  }
}

/** A binding's own property, with methods bound to the binding (workerd checks `this`). */
function passThrough(target: object, property: string | symbol): unknown {
  const value = Reflect.get(target, property, target) as unknown;
  return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}
