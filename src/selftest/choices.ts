/**
 * What the self-test commands offer (assess suites, stress defaults), apart from the checks
 * themselves so that declaring the CLI's options loads none of them.
 */

export type AssessSuite = "core" | "cli" | "hooks";
export const ASSESS_SUITES: readonly AssessSuite[] = ["core", "cli", "hooks"];

export const DEFAULT_STRESS_COMMAND = "echo stress-{i}";
export const DEFAULT_STRESS_PROMPT = "Reply with the single word: pong ({i})";
