// Benchmarks that set variants side by side run them in turn, once per round (a, b, c, a, b, c...), so a
// machine that drifts during the run hits every variant alike; each run prints its line as it ends.

/** Runs every kind once per round, in turn; returns each kind's mean µs over the rounds. */
export async function roundsInTurn<K extends string, R extends { us: number }>(
  kinds: readonly K[],
  rounds: number,
  run: (kind: K) => Promise<R>,
  line: (r: R) => string,
): Promise<Map<K, number>> {
  const us = new Map<K, number[]>(kinds.map((k) => [k, []]));
  for (let round = 1; round <= rounds; round++)
    for (const kind of kinds) {
      const r = await run(kind);
      us.get(kind)!.push(r.us);
      console.log(`round ${round} ${kind.padEnd(8)} ${line(r)}`);
    }
  return new Map(kinds.map((k) => [k, us.get(k)!.reduce((a, b) => a + b, 0) / rounds]));
}
