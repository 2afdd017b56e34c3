// The replay room's one door: the open-loop replay driver (what its record can prove is judged by
// verdict/replay-validity.ts). Nothing outside src/gates/measure/replay/ imports another file of the room.

export { replay } from "./open-loop.js";
export { ReplayError, type DriverVariant, type ReplayOptions, type ReplayProgress } from "./replay-options.js";
export { requestSample } from "./request-sample.js";
export { saysDuplicate } from "./response-handler.js";
