// Small, dependency-free statistics for timing samples (milliseconds).

export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    runs: s.length,
    median: quantile(s, 0.5),
    p90: quantile(s, 0.9),
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
    mean,
  };
}

// Deterministic PRNG so the confidence interval is reproducible for the same samples.
function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function resampledMedian(samples, rnd) {
  const r = new Array(samples.length);
  for (let i = 0; i < samples.length; i++) r[i] = samples[Math.floor(rnd() * samples.length)];
  r.sort((a, b) => a - b);
  return quantile(r, 0.5);
}

// 95% bootstrap interval of median(a) / median(b).
export function ratioCI(a, b, iterations = 2000) {
  if (a.length < 5 || b.length < 5) return null;
  const rnd = mulberry32(0x5eed);
  const ratios = [];
  for (let i = 0; i < iterations; i++) ratios.push(resampledMedian(a, rnd) / resampledMedian(b, rnd));
  ratios.sort((x, y) => x - y);
  return [quantile(ratios, 0.025), quantile(ratios, 0.975)];
}

// The order of entrants in one round: a seeded shuffle, so every entrant is preceded equally often by
// every other one. A fixed or merely rotated order lets one runtime's after-effects (asynchronous netns
// and cgroup teardown in the kernel) land on the same neighbour every time.
export function roundOrder(list, round) {
  const rnd = mulberry32(0x6e73 + round * 7919);
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
