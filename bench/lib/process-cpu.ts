/**
 * CPU time of the bench's own child processes (the workerd each Miniflare starts), read from
 * /proc: how much CPU a Worker, with its local D1, cache and queues, spent on a phase, whatever
 * else the shared machine was doing meanwhile. Linux only; elsewhere every reading is NaN.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100;

function stat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may hold spaces; fields after it are space-separated.
    const close = text.lastIndexOf(")");
    return [text.slice(text.indexOf("(") + 1, close), ...text.slice(close + 2).split(" ")];
  } catch {
    return undefined;
  }
}

/** The pids of this process's children named `name`. */
export function childProcesses(name = "workerd"): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  return entries
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      const fields = stat(pid);
      return fields?.[0] === name && Number(fields[2]) === process.pid;
    });
}

/** User plus system CPU the process has used so far, in milliseconds. */
export function cpuMs(pid: number | undefined): number {
  const fields = pid === undefined ? undefined : stat(pid);
  if (!fields) return Number.NaN;
  // After the name: state(1) ppid(2) … utime(12) stime(13), counting the name as field 0.
  return ((Number(fields[12]) + Number(fields[13])) / ticksPerSecond) * 1000;
}

/** Runs `start`, and returns what it returned with the pid of the child process it started. */
export async function withChildPid<T>(start: () => Promise<T>, name = "workerd"): Promise<T & { pid: number | undefined }> {
  const before = new Set(childProcesses(name));
  const started = await start();
  return Object.assign(started as object, { pid: childProcesses(name).find((pid) => !before.has(pid)) }) as T & { pid: number | undefined };
}
