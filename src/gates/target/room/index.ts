// The sealed room: where code that is not the runner's own is built and run (sealed-room.ts), with a
// Redis and PostgreSQL of its own (room-data.ts), in a control group of its own (cgroup.ts), built by
// the room builder (room-builder.ts).

export {
  SealedRoom,
  chownTree,
  RoomUnavailableError,
  roomSupport,
  DEFAULT_ROOM_LIMITS,
  type RoomOptions,
  type RoomSpawnOptions,
} from "./sealed-room.js";
export { startRoomData, type RoomData } from "./room-data.js";
export type { CgroupLimits } from "./cgroup.js";
export { RoomBuilder, ROOM_BUILDER_VERSION } from "./room-builder.js";
export { stageOwnTree } from "./own-tree.js";
