// The verdict room's one door: the statistics, the replay-validity rule, the SLO catalogue (slos/), the verdict and
// what it means, the error budget and the retry rule. Other folders import only what is listed here.

export { alphaForAttempt, type AttemptOutcome, attemptRefusal, goWithheld, levelText, retryAllowance } from "./attempt-rule.js";
export { baselineLine, machineClassOf, NO_BASELINE, targetIdentity, thisMachineClass } from "./baseline-run.js";
export { buildErrorBudgetLedger, type ErrorBudgetLedger } from "./error-budget.js";
export { checkSchedule, driverFreeLowerBound, type DriverFree, judgeSchedule, RATE_WINDOW_MS } from "./replay-validity.js";
export { comparison, SLO_NAMES } from "./slos/index.js";
export {
  confidenceLabel,
  DEFAULT_ONE_SIDED_ALPHA,
  effectiveSampleSize,
  MIN_P95_WINDOWS,
  MIN_SAMPLES_FOR_P95_BOUND,
  MIN_SAMPLES_FOR_WINDOWED_P95,
  MIN_WINDOW_SAMPLES,
  nearestRank,
  p95ConfidenceRanks,
  p95WindowBounds,
  p95WindowCount,
  p95WindowOf,
  percentile,
  summarizeLatency,
  windowedP95Interval,
} from "./statistics.js";
export { verdictDocument, type VerdictDocument } from "./verdict-document.js";
export { exitCodeFor, VERDICT_MEANING, verdictIcon } from "./verdict-meaning.js";
export { evaluatePhase, evaluateRun, phaseCanStillPass, phaseErrorLimit } from "./verdict.js";
