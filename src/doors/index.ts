/**
 * What the doors (WebSocket server methods, MCP tools) share: the sequence around each piece of
 * work (timeout estimate → pre hook → start → history record → post hook), so that every door
 * applies hooks, history and the command policy the same way.
 */
export { planTimeout, type TimeoutPlan, type TimeoutSource } from "./timeout.js";
export { startGuardedCommand, type CommandRequest, type DoorServices, type GuardedCommand, type GuardedCommandStart } from "./command.js";
export { claudeDefaults, claudeHistoryEnd, startRecordedClaude } from "./claude.js";
export { taskListRunServices, taskListServices } from "./task-list.js";
export { compilePolicy, refusalReason, commandRefuser, simpleCommands, type CommandPolicy } from "./policy.js";
export { containmentOptions, openGroupRegistry } from "./registry.js";
