// Medians, percentiles, alternating runs and a compact way to run autocannon.
import autocannon from 'autocannon';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median of one field over a list of run results. */
export const medianOf = (results, key) => median(results.map((r) => r[key]));

/** Nearest-rank percentile. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Runs every contender once per round, in the given order, for `runs` rounds (figure, reference,
 * figure, reference...), so a drift of the machine's speed touches all of them alike. Returns each
 * contender's results in run order. `onRun(name, result)` reports progress.
 */
export async function alternate(runs, contenders, onRun = () => {}) {
  const results = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
  for (let round = 0; round < runs; round += 1) {
    for (const [name, run] of Object.entries(contenders)) {
      const result = await run();
      results[name].push(result);
      onRun(name, result, round);
    }
  }
  return results;
}

/** Runs autocannon and returns requests/s, p50/p99 latency in ms and the non-2xx and error counts. */
export async function load(options) {
  const result = await autocannon({ ...options, connections: options.connections ?? 32 });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** Non-2xx answers plus errors and timeouts, over a list of load results. */
export const failures = (results) => results.reduce((n, r) => n + r.non2xx + r.errors, 0);
