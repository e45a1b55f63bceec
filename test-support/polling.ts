// Reading a running service from the outside: one metric sample, and waiting for a condition.
import { request } from './http.js';

/** A sample's value in the Prometheus text, e.g. metric(text, 'mastery_feed_cursor_seq'). */
export async function metric(serviceUrl: string, sample: string): Promise<number> {
  const text = (await request<string>(`${serviceUrl}/metrics`)).body;
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

/**
 * Polls until `check` holds. Gives up after `timeoutMs` with an error that says so, well before
 * the test's own timeout, so a behaviour that never comes fails clearly rather than by jest's timer.
 */
export async function eventually(check: () => Promise<boolean>, pollMs = 25, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`the awaited condition did not hold within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
