export { startProcess, SupervisedProcess, SpawnError, displayCommand } from "./supervisor.js";
export type { SpawnSpec, OutputChunk, ProcessResult, TerminalStatus, OutputStreamName } from "./supervisor.js";
export { GroupRegistry } from "./group-registry.js";
export type { GroupRecord, ReapReport } from "./group-registry.js";
export { resolveShell, findExecutable } from "./shell.js";
export type { ShellPreference, ResolvedShell } from "./shell.js";
export { signalGroup, groupExists, groupMembers, processStartTime, terminateGroup } from "./process-group.js";
export { applyFlow, type OutputFlow } from "./flow.js";
