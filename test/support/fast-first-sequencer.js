// Jest test sequencer for `npm run mutate`: the judge's fast pure suites first, the ones that watch
// the real host (seconds each) last. Stryker stops at the first failing suite, so a mutant that
// the statistics suite kills never waits for the host watch's.

import Sequencer from "@jest/test-sequencer";

const FIRST = [
  "statistics",
  "windowed-interval",
  "replay-validity",
  "judge-mutants",
  "verdict",
  "host-contention-mutants",
  "host-contention",
];
const rank = (path) => {
  const i = FIRST.findIndex((name) => path.endsWith(`/${name}.test.ts`));
  return i < 0 ? FIRST.length : i;
};

export default class FastFirstSequencer extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => rank(a.path) - rank(b.path));
  }
}
