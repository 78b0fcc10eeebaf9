/**
 * What one page task may spend. In: the source's `budget` (subrequests, CPU, wall time) and, page
 * by page, what each page cost. Out: whether another page fits, judged by the dearest page so far,
 * so a task hands the run on to a new task before a Workers limit stops it mid-page.
 *
 * Subrequests are counted as Sluice makes them: the fetch and each redirect it follows, each queue
 * send, each R2 put and each D1 call. CPU has no clock in Workers: deployed, `performance.now()`
 * moves only when I/O completes (a Spectre mitigation), so timing a synchronous stretch reads 0
 * there, though it reads true time in local workerd. A page's CPU is therefore estimated as the
 * larger of its measured busy time (parsing to queued messages) and a rate per byte of page
 * (`cpuMsPerMB`: twice the 19 ms a MB that parsing, keying and re-serialising a page of GitHub
 * issues took in Node 24 on a loaded 2-core machine, since the deployed clock cannot check it).
 */
import type { RestSource } from "../config/pull-schema.ts";

/** Estimated CPU per MB of page body: JSON.parse, keys, JSON.stringify into messages, hashing. */
export const cpuMsPerMB = 40;
/** Subrequests kept back for the task's own start and end: the run's read, the hop or the completion, an alert. */
const reservedSubrequests = 8;

export interface PageCost {
  subrequests: number;
  /** Busy milliseconds measured around the page's processing. */
  busyMs: number;
  bodyBytes: number;
}

export class TaskBudget {
  readonly #limits: RestSource["budget"];
  readonly #startedAt: number;
  #subrequests: number;
  #cpuMs = 0;
  #pages = 0;
  // Before any page is booked, the least a page costs: its fetch, one send and its checkpoint.
  #dearest = { subrequests: 3, cpuMs: 0, wallMs: 0 };
  #pageStartedAt: number;

  /** `spent`: subrequests already made by the task before its first page (reading the run). */
  constructor(limits: RestSource["budget"], spent = 1, now = Date.now()) {
    this.#limits = limits;
    this.#startedAt = now;
    this.#pageStartedAt = now;
    this.#subrequests = spent;
  }

  /** Marks where a page's wall time starts. */
  startPage(now = Date.now()): void {
    this.#pageStartedAt = now;
  }

  /** Books a checkpointed page. */
  pageDone(cost: PageCost, now = Date.now()): void {
    const cpuMs = Math.max(cost.busyMs, (cost.bodyBytes / 1_000_000) * cpuMsPerMB);
    this.#pages += 1;
    this.#subrequests += cost.subrequests;
    this.#cpuMs += cpuMs;
    const wallMs = now - this.#pageStartedAt;
    this.#dearest = {
      subrequests: Math.max(this.#dearest.subrequests, cost.subrequests),
      cpuMs: Math.max(this.#dearest.cpuMs, cpuMs),
      wallMs: Math.max(this.#dearest.wallMs, wallMs),
    };
  }

  /** Whether `pages` more pages, each as dear as the dearest so far, still fit every limit. */
  roomFor(pages: number, now = Date.now()): boolean {
    const d = this.#dearest;
    return (
      this.#subrequests + pages * d.subrequests + reservedSubrequests <= this.#limits.subrequests &&
      this.#cpuMs + pages * d.cpuMs <= this.#limits.cpuMs &&
      now - this.#startedAt + pages * d.wallMs <= this.#limits.wallSeconds * 1000
    );
  }

  /** What the task spent, for its log line. */
  spent(now = Date.now()): { pages: number; subrequests: number; cpuMs: number; wallMs: number } {
    return { pages: this.#pages, subrequests: this.#subrequests, cpuMs: Math.round(this.#cpuMs), wallMs: now - this.#startedAt };
  }
}

/** How many pages of `perPage` subrequests one task takes within a subrequest budget. */
export function pagesPerTask(limits: RestSource["budget"], perPage = 3): number {
  return Math.max(1, Math.floor((limits.subrequests - 1 - reservedSubrequests) / perPage));
}
