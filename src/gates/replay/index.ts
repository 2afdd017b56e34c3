// The replay room's one door: the open-loop replay driver and the replay-validity rule that judges
// what its record can prove. Nothing outside src/gates/replay/ imports another file of the room.

export { replay } from "./open-loop.js";
export { ReplayError, type DriverVariant, type ReplayOptions, type ReplayProgress } from "./replay-options.js";
export { saysDuplicate } from "./response-handler.js";
export {
  checkSchedule,
  contentionClause,
  driverFreeLowerBound,
  judgeP95,
  MIN_ACHIEVED_RATE_SHARE,
  RATE_WINDOW_MS,
  type LatencyVerdict,
  type P95Judgement,
  type RateWindow,
  type ScheduleCheck,
  type ScheduleInput,
} from "./replay-validity.js";
