// The run room's one door: runToBundle and executeRun (the steps of a run), pre-flight, the machine record and the
// service check. Other folders import only what is listed here.

export { newRunId, type RunObserver, type RunOptions } from "./execute-run.js";
export { runToBundle, type RunToBundleOptions } from "./run-to-bundle.js";
export { checkServices } from "./service-check.js";
