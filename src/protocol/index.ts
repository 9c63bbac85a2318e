export * from "./names.js";
export * from "./messages.js";
export * from "./parse.js";
export * from "./schemas.js";
export * from "./process-completed.js";
export type * from "./notifications.js";
