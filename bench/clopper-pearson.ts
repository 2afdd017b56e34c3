// The exact (Clopper–Pearson) confidence interval for a binomial proportion: k successes in n trials. The bounds
// are where the binomial tail probabilities equal (1 - confidence)/2, found by bisection on the exact tails, so
// the interval is never narrower than the data allow (it is conservative: coverage at least the confidence).

/** P(X >= k) for X ~ Binomial(n, p), summed in log space so n in the thousands stays exact. */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  // log C(n, i) by the running product, from i = k up.
  let logC = logChoose(n, k);
  let sum = 0;
  for (let i = k; i <= n; i++) {
    sum += Math.exp(logC + i * logP + (n - i) * logQ);
    logC += Math.log((n - i) / (i + 1));
  }
  return Math.min(1, sum);
}

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

/** The p in [0, 1] where the increasing function f crosses `target`, to 1e-12. */
function bisect(f: (p: number) => number, target: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * [lower, upper] for k of n at `confidence` (default 0.95): lower solves P(X >= k | p) = alpha/2 (0 when k = 0),
 * upper solves P(X <= k | p) = alpha/2 (1 when k = n).
 */
export function clopperPearson(k: number, n: number, confidence = 0.95): [number, number] {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`n must be a whole number >= 1, got ${n}`);
  if (!(Number.isInteger(k) && k >= 0 && k <= n)) throw new RangeError(`k must be a whole number from 0 to n (${n}), got ${k}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const alpha = (1 - confidence) / 2;
  const lower = k === 0 ? 0 : bisect((p) => binomialUpperTail(k, n, p), alpha);
  // P(X <= k) = 1 - P(X >= k + 1) falls as p grows; it is alpha where P(X >= k + 1) is 1 - alpha.
  const upper = k === n ? 1 : bisect((p) => binomialUpperTail(k + 1, n, p), 1 - alpha);
  return [lower, upper];
}
