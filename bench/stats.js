// Medians and a compact way to run autocannon.
import autocannon from 'autocannon';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs autocannon and returns requests/s, p50/p99 latency in ms and the non-2xx count. */
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
