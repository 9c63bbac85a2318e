export { loadHooks, emptyHookSet, HookSet } from "./hook-set.js";
export type { LoadHooksOptions, HookStatus, HookErrorRecord } from "./hook-set.js";
export { HOOK_EVENTS, isPreEvent } from "./events.js";
export type { HookEvent, HookContext, HookAnswer, HookOutcome, HookWarning } from "./events.js";
export { HookConfigError, findHooksFile, readHooksFile, PROJECT_HOOKS_FILE, HOME_HOOKS_FILE, DEFAULT_HOOK_TIMEOUT_S } from "./config.js";
export type { HookSpec, CommandHookSpec, ModuleHookSpec, HooksConfig } from "./config.js";
export { startGuardedClaude, type GuardedClaudeTask, type GuardedStart } from "./guarded-claude.js";
export { trustHooksFile, untrustHooksFile, trustedHooksFiles, checkTrust, coveredFiles, TRUST_FILE } from "./trust.js";
export type { TrustCheck, TrustRecord } from "./trust.js";
