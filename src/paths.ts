import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Layout of the state directory (CC_EXECUTOR_HOME, default ~/.cc-executor).
 * Every module asks here for its files so that the layout is written down once.
 */
export interface StatePaths {
  home: string;
  tokenFile: string;
  serverLog: string;
  /** One JSON record per live process group, used to reap leftovers after a crash. */
  groupsDir: string;
  /** Per-execution artifacts: transcripts, results, reports. */
  runsDir: string;
  /** Git worktrees of isolated parallel tasks: worktrees/<run id>/<task id>. */
  worktreesDir: string;
  sqliteFile: string;
}

export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.CC_EXECUTOR_HOME && env.CC_EXECUTOR_HOME.trim() !== "" ? env.CC_EXECUTOR_HOME : join(homedir(), ".cc-executor");
}

export function statePaths(home: string): StatePaths {
  return {
    home,
    tokenFile: join(home, "token"),
    serverLog: join(home, "server.log"),
    groupsDir: join(home, "groups"),
    runsDir: join(home, "runs"),
    worktreesDir: join(home, "worktrees"),
    sqliteFile: join(home, "cc-executor.db"),
  };
}
