export { runStress, stressMarkdown, summarizeLatency, DEFAULT_STRESS_COMMAND, DEFAULT_STRESS_PROMPT, type StressOptions, type StressReport, type StressTaskResult, type LatencySummary } from "./stress.js";
export { runAssess, assessMarkdown, cliEntry, ASSESS_SUITES, type AssessCheck, type AssessReport, type AssessSuite, type CoreTarget } from "./assess.js";
export { rssOf } from "./procs.js";
