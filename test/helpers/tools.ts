import { execFileSync } from "node:child_process";

/**
 * Fails with a message naming the package to install when a system tool a test needs is missing
 * (never a bare ENOENT, never a silent skip). README "Requirements" lists them with the apt line.
 */
export function requireTool(command: string, debianPackage: string): string {
  try {
    return execFileSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(`this test needs \`${command}\`, which is not installed: apt-get install ${debianPackage.split(" ")[0]} (README, "Requirements")`);
  }
}
