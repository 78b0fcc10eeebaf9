/**
 * The two system programs the end-to-end tests drive: Chromium (the dashboard's browser test)
 * and Prometheus's promtool (the metrics test). Nothing on npm ships either in a form that works
 * here, so `npm test` installs Debian's packages itself when it runs as root, and otherwise stops
 * before any test with the exact command to run. No test is ever skipped for want of them.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export interface SystemTool {
  /** What the tests use it for, for the messages. */
  purpose: string;
  /** The Debian package that provides it. */
  aptPackage: string;
  /** Extra apt-get arguments (prometheus's recommends pull in a whole server stack). */
  aptArgs: readonly string[];
  /** True when the program is there. */
  present: () => boolean;
}

export const chromiumPath = () => process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const systemTools: readonly SystemTool[] = [
  {
    purpose: "the dashboard's browser test (test/e2e/dashboard.test.ts)",
    aptPackage: "chromium",
    aptArgs: [],
    present: () => isExecutable(chromiumPath()),
  },
  {
    purpose: "the metrics test's `promtool check metrics` (test/e2e/pipeline.test.ts)",
    aptPackage: "prometheus",
    aptArgs: ["--no-install-recommends"],
    present: () => onPath("promtool"),
  },
];

export type ToolPlan =
  | { action: "none" }
  | { action: "install"; packages: SystemTool[]; commands: string[][] }
  | { action: "fail"; packages: SystemTool[]; message: string };

/**
 * What to do about missing tools: nothing, install them with apt-get (as root, where apt-get
 * exists), or fail with the command a user must run.
 */
export function planSystemTools(tools: readonly SystemTool[], machine: { isRoot: boolean; hasAptGet: boolean }): ToolPlan {
  const missing = tools.filter((tool) => !tool.present());
  if (missing.length === 0) return { action: "none" };
  const names = missing.map((tool) => tool.aptPackage);
  const install = (tool: SystemTool) => ["apt-get", "install", "-y", "-qq", ...tool.aptArgs, tool.aptPackage];
  if (machine.isRoot && machine.hasAptGet) {
    return { action: "install", packages: missing, commands: [["apt-get", "update", "-qq"], ...missing.map(install)] };
  }
  const lines = missing.map((tool) => `  - ${tool.aptPackage}, for ${tool.purpose}`);
  const command = machine.hasAptGet
    ? `sudo apt-get update && ${missing.map((tool) => `sudo ${install(tool).join(" ")}`).join(" && ")}`
    : `install Debian's or your system's equivalent of: ${names.join(", ")} (Chromium at /usr/bin/chromium or CHROMIUM_PATH, promtool on PATH)`;
  const why = machine.hasAptGet ? "npm test installs them itself only when it runs as root." : "this machine has no apt-get.";
  return {
    action: "fail",
    packages: missing,
    message: `The end-to-end tests need programs this machine does not have:\n${lines.join("\n")}\n${why} Run:\n\n  ${command}\n`,
  };
}

/** Carries out the plan, saying what it does. Returns false if the tools are still missing. */
export function ensureSystemTools(tools: readonly SystemTool[] = systemTools): boolean {
  const plan = planSystemTools(tools, { isRoot: process.getuid?.() === 0, hasAptGet: onPath("apt-get") });
  if (plan.action === "none") return true;
  if (plan.action === "fail") {
    console.error(plan.message);
    return false;
  }
  console.log(
    `npm test: installing Debian's ${plan.packages.map((tool) => tool.aptPackage).join(" and ")} for ${plan.packages.map((tool) => tool.purpose).join(" and ")}.`,
  );
  for (const [command, ...args] of plan.commands) {
    console.log(`npm test: ${[command, ...args].join(" ")}`);
    const result = spawnSync(command!, args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (result.status !== 0) {
      console.error(`npm test: \`${[command, ...args].join(" ")}\` failed (exit ${result.status ?? result.signal}).`);
      return false;
    }
  }
  const still = plan.packages.filter((tool) => !tool.present());
  for (const tool of still) console.error(`npm test: ${tool.aptPackage} installed, but ${tool.purpose} still cannot find it.`);
  return still.length === 0;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && isExecutable(join(dir, name)));
}
