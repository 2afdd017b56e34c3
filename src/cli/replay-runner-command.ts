// `gate runner --replay`: a replay runner, a BullMQ worker taking shards of phases from the
// coordination Redis (shards/replay-runner.ts). Runs until SIGINT/SIGTERM.

import { Redis } from "ioredis";
import { parseArgs } from "node:util";
import { ReplayRunner } from "../gates/measure/index.js";

export const REPLAY_RUNNER_HELP = `Usage: gate runner --replay [--redis URL] [--prefix P] [--concurrency N] [--name NAME]

Runs a replay runner: a BullMQ worker that takes shards of gate phases from the coordination Redis
and drives them against the service under test, from this host. Start as many as the rate needs,
on any machines that reach the Redis and the service (docs/distributed-runners.md).

Before each shard it measures its offset to the Redis clock (TIME, the fastest of several round
trips) and refuses the shard when that is uncertain by more than the gate's bound (default 1 ms):
the phase is then ERROR, never PASS. It sends back histograms, counts and its raw samples, never
a request at a time.

Options:
  --redis URL        the coordination Redis (default $REPLAY_REDIS_URL, else redis://127.0.0.1:6379)
  --prefix P         the key prefix \`gate run\` uses (default rg-replay)
  --concurrency N    shards driven at once (default 1: a runner measures best alone)
  --name NAME        this runner's name in the evidence (default host/pid)`;

export async function replayRunnerCommand(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        replay: { type: "boolean", default: false },
        redis: { type: "string" },
        prefix: { type: "string", default: "rg-replay" },
        concurrency: { type: "string", default: "1" },
        name: { type: "string" },
        // Test hooks for the fault suite: not in --help.
        "clock-fault-ms": { type: "string" },
        "start-delay-ms": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`gate runner --replay: ${(err as Error).message}\n\n${REPLAY_RUNNER_HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(REPLAY_RUNNER_HELP);
    return 0;
  }
  const concurrency = Number(values.concurrency);
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    console.error(`gate runner --replay: --concurrency must be a whole number >= 1, got ${values.concurrency}`);
    return 2;
  }
  const redisUrl = values.redis ?? process.env.REPLAY_REDIS_URL ?? "redis://127.0.0.1:6379";
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  connection.on("error", () => {});
  const runner = new ReplayRunner({
    connection,
    prefix: values.prefix!,
    concurrency,
    name: values.name,
    clockFaultMs: values["clock-fault-ms"] ? Number(values["clock-fault-ms"]) : undefined,
    startDelayMs: values["start-delay-ms"] ? Number(values["start-delay-ms"]) : undefined,
    onShard: (event, plan, detail) =>
      console.error(
        `gate runner --replay: ${event} ${plan.runId}/${plan.phase.name} shard ${plan.shard + 1}/${plan.shards}${detail ? `: ${detail}` : ""}`,
      ),
  });
  runner.start();
  try {
    await runner.waitUntilReady();
  } catch (err) {
    console.error(`gate runner --replay: cannot reach ${redisUrl}: ${(err as Error).message}`);
    connection.disconnect();
    return 2;
  }
  console.log(`gate runner --replay ready: ${runner.id} (prefix ${values.prefix}, concurrency ${concurrency})`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await runner.close();
  connection.disconnect();
  return 0;
}
