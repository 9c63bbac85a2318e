export { runStress, stressMarkdown, summarizeLatency, type StressOptions, type StressReport, type StressTaskResult, type LatencySummary } from "./stress.js";
export { runAssess, assessMarkdown, cliEntry, type AssessCheck, type AssessReport, type CoreTarget } from "./assess.js";
export { rssOf } from "./procs.js";
export { ASSESS_SUITES, DEFAULT_STRESS_COMMAND, DEFAULT_STRESS_PROMPT, type AssessSuite } from "./choices.js";
