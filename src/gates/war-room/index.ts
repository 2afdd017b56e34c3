// The war room's one door: status updates, their tables and the deadline. Other folders import only what is listed here.

export { onTheClock, parseDeadline } from "./deadline.js";
export {
  formatUtcTime,
  milestoneUpdate,
  renderDecisionLog,
  renderPlainVerdictTable,
  renderTimeline,
  renderVerdictTable,
  renderWarRoomUpdate,
  type RetryContext,
} from "./war-room-formats.js";
