export { ReplayWriter, readReplay, readGap, hasReplay, HEAD_FILE, GAP_FILE } from "./replay-file.js";
export type { ReplayItem, ReplayGap, ReplayWriterOptions } from "./replay-file.js";
