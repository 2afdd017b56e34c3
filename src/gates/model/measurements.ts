// What a run measured and found around its phases, as data: the driver's schedule, the host's other work,
// CPU per request, the machine, the capacity probe and the commit's build. Types only: the modules that
// measure them (measure/, run/, target/) import these, never the other way round.

export interface RateWindow {
  /** Window start and end on the replay's clock (ms since t0); the last window is open-ended. */
  fromMs: number;
  toMs: number;
  /** Requests due in the window. */
  due: number;
  /** Requests the driver dispatched (sent, or held behind their key's answer) in the window. */
  dispatched: number;
  /** dispatched / due x the target rate, requests per second. */
  rate: number;
}

/** The driver's record of how well it kept its schedule: the replay-validity rule's input. */
export interface ScheduleCheck {
  targetRate: number;
  /** Requests dispatched per second from the first dispatch to the last. */
  achievedRate: number;
  /** True when the achieved rate was >= 99% of the target over the phase and in every window. */
  rateHeld: boolean;
  windows: RateWindow[];
  /** The window with the lowest rate, null when there was none. */
  slowestWindow: RateWindow | null;
  /**
   * P99 of the driver's own lag, ms: from when a request could be sent to when it was handed over, plus how long its
   * answer may have waited for the driver's busy event loop (ownLagMs). Named when only sends were counted.
   */
  sendLagP99Ms: number;
  /** Requests whose own lag was above that P99. */
  lagAboveP99: number;
  /**
   * The P95's lower confidence bound with the driver's own delays taken out, ms: the latency at
   * rank (lower rank - lagAboveP99) less sendLagP99Ms. Null when the sample holds no such rank.
   */
  driverFreeP95LowerMs: number | null;
  /** Why the rate did not hold; absent when it held. */
  reason?: string;
  /** When the first and the last request were dispatched, ms since t0 (absent when none was). */
  dispatchSpanMs?: [number, number];
}

/** The busiest processes outside the run over the phase (CPU seconds). */
export interface ForeignProcess {
  pid: number;
  command: string;
  cpuSeconds: number;
}

/** What the verdict and the evidence get: when the host was busy with other work, and who did it. */
export interface HostContention {
  limitCores: number;
  /** Contended spans on the replay's clock (ms since t0), guard included. */
  contended: { fromMs: number; toMs: number; peakForeignCores: number }[];
  /** Requests due inside a contended span. */
  requestsInContended: number;
  /** Peak and mean foreign CPU over the phase, cores. */
  peakForeignCores: number;
  meanForeignCores: number;
  /** The P95 lower bound less the driver's delays, from the requests due outside contended spans; null when too few. */
  cleanFreeP95LowerMs: number | null;
  cleanRequests: number;
  topForeign: ForeignProcess[];
  /**
   * Set when the watch cannot tell the target's processes from other work (a deployed target on this
   * host): the record is kept, but other work can then never excuse a FAIL.
   */
  unattributable?: string;
}

export interface PhaseResources {
  cpu: {
    /** CPU µs per request sent: the driver's process, over the replay. */
    driverUsPerRequest: number | null;
    /** CPU µs per request sent: the HTTP server, over the replay and the drain. */
    serverUsPerRequest: number | null;
    /** CPU µs per event accepted: all workers together, over the replay and the drain. */
    workersUsPerEvent: number | null;
    driverUs: number | null;
    serverUs: number | null;
    workersUs: number | null;
    requests: number;
    events: number;
    /** How long the server and workers were measured over, ms. */
    windowMs: number;
  };
  /** The queue's backlog (stream length: accepted, not yet committed), ms since the replay's t0; null when not sampled. */
  queueDepth: { atMs: number; depth: number }[] | null;
}

export interface CapacityResult {
  /** Always "closed-loop": how the numbers were taken, and why they are not in the verdict. */
  method: "closed-loop";
  label: string;
  tool: string;
  durationMs: number;
  connections: number;
  /** Requests answered 2xx over the probe. */
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Mean and highest per-second throughput (answered requests). */
  meanRps: number;
  maxRps: number;
  /** autocannon's latency (from send, whole ms) at the probe's load. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Set when the probe could not run; the run goes on. */
  problem?: string;
}

/** One line of /proc/pressure/cpu: the share of time some (or all) tasks waited for a CPU, %. */
export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time, µs. */
  total: number;
}

export interface MachineSnapshot {
  at: string;
  /** 1, 5 and 15 minute load averages. */
  loadAverage: [number, number, number];
  /** /proc/pressure/cpu; null where the kernel does not offer it. */
  cpuPressure: { some: PressureLine | null; full: PressureLine | null } | null;
}

export interface EventLoopJitter {
  durationMs: number;
  /** Event-loop delay of an idle Node process, ms (monitorEventLoopDelay, 1 ms resolution). */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface MachineRecord {
  cpuModel: string;
  cores: number;
  node: string;
  platform: string;
  before: MachineSnapshot;
  after: MachineSnapshot | null;
  eventLoopBaseline: EventLoopJitter | null;
}

/** What the cache did for a run, as the evidence reports it. */
export interface CacheDecision {
  /** hit: reused; miss: nothing cached; rejected: an entry was there but not used (reason says why), and the tree was rebuilt. */
  decision: "hit" | "miss" | "rejected";
  key: string;
  reason?: string;
  /** The built tree's digest (treeDigest), checked on a hit, recorded on a store. */
  treeDigest?: string;
  /** How long checking (copy and digest, on a hit) or computing it (on a store) took. */
  digestMs?: number;
  /** Why a fresh build was not stored, if it was not. */
  notStored?: string;
}

/** What ran, for the evidence bundle: enough to rebuild and to check the same bytes were built. */
export interface ServiceSourceEvidence {
  commit: string;
  /** `owner/repo` the commit is of: part of the build cache's key. */
  repository: string;
  /** SHA-256 of the archive as downloaded. */
  tarballSha256: string;
  /** The git tree SHA-1 of the unpacked files, computed here (not taken from anyone's word). */
  treeSha: string;
  /** SHA-256 of package-lock.json, or null when the tree has none. */
  lockfileSha256: string | null;
  buildCommand: string;
  /** Who built it (the builder's version, e.g. "host/1 node v20.20.2"): part of the cache key. */
  builder: string;
  /** Null when the build was killed (timeout, abort) or never started. */
  exitCode: number | null;
  durationMs: number;
  builtAt: string;
  /** True when this run reused a cached build (cache.decision "hit"). */
  cached: boolean;
  /** What the build cache did: hit, miss, or an entry rejected (and why) and the tree rebuilt. */
  cache: CacheDecision;
  /** The build's output (stdout and stderr together); redacted when written to the evidence. */
  log: string;
  /** Set when the service could not be built: the step and what went wrong. */
  failure?: { step: "unpack" | "build"; message: string };
}
