/**
 * `npm test` on a fresh machine: the programs the end-to-end tests drive are installed by
 * `npm test` itself when it can (root with apt-get), and otherwise it stops with the exact
 * command to run. It never goes on to skip the tests that need them.
 */
import { describe, expect, it } from "vitest";
import { planSystemTools, type SystemTool, systemTools } from "../../scripts/lib/system-tools.ts";

const tool = (aptPackage: string, present: boolean, aptArgs: string[] = []): SystemTool => ({
  purpose: `the ${aptPackage} test`,
  aptPackage,
  aptArgs,
  present: () => present,
});

describe("planSystemTools", () => {
  it("does nothing when every program is there", () => {
    expect(planSystemTools([tool("chromium", true), tool("prometheus", true)], { isRoot: false, hasAptGet: false })).toEqual({
      action: "none",
    });
  });

  it("installs only what is missing with apt-get, after one update, when it runs as root", () => {
    const plan = planSystemTools([tool("chromium", false), tool("prometheus", false, ["--no-install-recommends"])], {
      isRoot: true,
      hasAptGet: true,
    });
    expect(plan.action).toBe("install");
    if (plan.action !== "install") return;
    expect(plan.commands).toEqual([
      ["apt-get", "update", "-qq"],
      ["apt-get", "install", "-y", "-qq", "chromium"],
      ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus"],
    ]);
    expect(planSystemTools([tool("chromium", true), tool("prometheus", false)], { isRoot: true, hasAptGet: true })).toMatchObject({
      action: "install",
      commands: [
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "prometheus"],
      ],
    });
  });

  it("fails loudly with the exact command when it is not root", () => {
    const plan = planSystemTools([tool("chromium", false), tool("prometheus", false, ["--no-install-recommends"])], {
      isRoot: false,
      hasAptGet: true,
    });
    expect(plan.action).toBe("fail");
    if (plan.action !== "fail") return;
    expect(plan.message).toContain(
      "sudo apt-get update && sudo apt-get install -y -qq chromium && sudo apt-get install -y -qq --no-install-recommends prometheus",
    );
    expect(plan.message).toContain("chromium, for the chromium test");
    expect(plan.message).toContain("only when it runs as root");
  });

  it("names the programs when the machine has no apt-get at all", () => {
    const plan = planSystemTools([tool("prometheus", false)], { isRoot: true, hasAptGet: false });
    expect(plan).toMatchObject({ action: "fail" });
    if (plan.action === "fail") expect(plan.message).toContain("no apt-get");
  });

  it("covers the two programs the end-to-end tests drive", () => {
    expect(systemTools.map((t) => t.aptPackage)).toEqual(["chromium", "prometheus"]);
  });
});
