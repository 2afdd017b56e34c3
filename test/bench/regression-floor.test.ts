// The floor the spread between identical runs puts under any one-run-per-side regression rule: checked against
// closed forms and a simulation, so the README's statement of it rests on arithmetic that could be wrong and is not.

import { regressionFloor } from "../../bench/regression-floor.js";

/** A seeded generator (mulberry32) and normal draws from it (Box–Muller). */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const goal = { regression: 0.25, alpha: 0.05, power: 0.8 };

test("the spread is the sample standard deviation of ln P95, and its interval holds it", () => {
  const f = regressionFloor([Math.E, Math.E ** 2, Math.E ** 3], goal);
  expect(f.sdLog).toBeCloseTo(1, 12);
  expect(f.sdLogCi[0]).toBeLessThan(1);
  expect(f.sdLogCi[1]).toBeGreaterThan(1);
  // chi-square(2) quantiles 0.0506 and 7.378: sqrt(2/7.378) = 0.521, sqrt(2/0.0506) = 6.29 (Wilson–Hilferty is rough at df 2).
  expect(f.sdLogCi[0]).toBeCloseTo(0.521, 1);
});

test("the best power is the closed form, and more runs per side raise it to the goal", () => {
  // sd 0.1: the log ratio of one run each has sd 0.1·√2, so the power is Φ(ln 1.25 / 0.1414 − 1.645) = Φ(-0.067).
  const sd = 0.1;
  const p95s = [Math.exp(-sd), Math.exp(0), Math.exp(sd)]; // sample sd of logs: exactly 0.1
  const f = regressionFloor(p95s, goal);
  expect(f.sdLog).toBeCloseTo(sd, 12);
  const shift = Math.log(1.25) / (sd * Math.SQRT2); // 1.578
  expect(f.bestPower).toBeCloseTo(0.5 * (1 + erf((shift - 1.6448536) / Math.SQRT2)), 4);
  // k runs per side: the sd of the log ratio is 0.1·√(2/k); Φ(1.578·√k − 1.645) >= 0.8 first at k = 3.
  expect(f.runsPerSide).toBe(3);
  expect(f.bestPowerRange[0]).toBeLessThan(f.bestPower);
  expect(f.bestPowerRange[1]).toBeGreaterThan(f.bestPower);
});

test("a simulated machine agrees: the rule at its A/A threshold FAILs identical builds 5% of the time and catches +25% as often as it says", () => {
  const next = normals(7);
  const sd = 0.07;
  const f = regressionFloor(
    Array.from({ length: 20_000 }, () => Math.exp(sd * next())),
    goal,
  );
  const c = 1.6448536 * f.sdLog * Math.SQRT2;
  let aa = 0;
  let caught = 0;
  const pairs = 20_000;
  for (let i = 0; i < pairs; i++) {
    if (sd * next() - sd * next() > c) aa++;
    if (Math.log(1.25) + sd * next() - sd * next() > c) caught++;
  }
  expect(aa / pairs).toBeCloseTo(0.05, 1);
  expect(Math.abs(caught / pairs - f.bestPower)).toBeLessThan(0.02);
});

test("too few runs, or none with a P95, are refused with a message", () => {
  expect(() => regressionFloor([3.1, 3.2], goal)).toThrow(/at least 3 runs with a P95, got 2/);
  expect(() => regressionFloor([3.1, Number.NaN, 0, 3.3], goal)).toThrow(/got 2/);
});

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26, within 1.5e-7.
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
