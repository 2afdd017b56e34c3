// The measure room's one door: one phase measured (the corpus, the open-loop replay, the shards, the watches, the
// stored events, the capacity probe). Other folders import only what is listed here.

export { CAPACITY_FILE, CAPACITY_LABEL, capacityLine, capacityMarkdown, probeCapacity } from "./capacity-probe.js";
export { runTagOf } from "./corpus/phase-corpus.js";
export { generateCorpus } from "./corpus/replay-corpus.js";
export { EventStore, type StoredEvent } from "./event-store.js";
export { measurePhase, notRun } from "./measure-phase.js";
export { replay, type ReplayProgress } from "./replay/index.js";
export {
  bucketsAtRanks,
  decodeHdr,
  type Hdr,
  hdrBuckets,
  type LocalRunners,
  MergeError,
  ReplayRunner,
  ShardCoordinator,
  type ShardedDriving,
  ShardFlowError,
  startLocalRunners,
} from "./shards/index.js";
