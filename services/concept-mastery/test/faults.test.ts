// Faults produced for real: the Logger SIGKILLed during a recompute, the Brain SIGKILLed while the
// feed has unconsumed events, and (through a fake upstream in front of the real Logger) a 503
// then success, a 429 with Retry-After, a stall past the timeout, garbage, and a 4xx. Each failed
// recompute answers the common error body and leaves the stored mastery as it was.
import { parseFeedPosition } from '@learning-analytics/common';
import { request } from '../../../test-support/http.js';
import { withDatabase } from '../../../test-support/database.js';
import { startService } from '../../../test-support/service-process.js';
import {
  caughtUp,
  expectedRecords,
  logEvents,
  metric,
  metricReaches,
  mixedEvents,
  readMastery,
  SETTLED_TIMELINE,
  startFakeUpstream,
  startStack,
  type StoredEvent,
} from './support.js';

const recompute = (brainUrl: string, user: string) =>
  request(`${brainUrl}/mastery/recompute/${encodeURIComponent(user)}`, { method: 'POST' });
const clientOk = 'learning_events_client_requests_total{status="200"}';

test('the Logger SIGKILLed during a recompute: 503, stored mastery untouched; then it recovers', async () => {
  const stack = await startStack({ brainEnv: { FEED_CONSUMER_ENABLED: 'false', LEARNING_EVENTS_PAGE_SIZE: '20' } });
  try {
    const user = 'killed-logger';
    const early = await logEvents(stack.logger.url, mixedEvents(user, 200, 4));
    expect((await recompute(stack.brain.url, user)).status).toBe(200);
    const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
    expect(before).toHaveLength(4);
    // 6,000 more events: 300 pages of 20, so the kill lands while pages are still being read.
    const later = await logEvents(stack.logger.url, mixedEvents(user, 6000, 6, 200));
    const okBefore = await metric(stack.brain.url, clientOk);

    const pending = recompute(stack.brain.url, user);
    await metricReaches(stack.brain.url, clientOk, '>=', okBefore + 3, { pollMs: 5 });
    await stack.logger.kill('SIGKILL');
    const res = await pending;
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: { code: 'upstream_unavailable', message: expect.any(String), details: [] } });
    expect((await request(`${stack.brain.url}/mastery/${user}`)).body).toEqual(before);
    expect((await request(`${stack.brain.url}/health`)).status).toBe(200);

    // The Logger comes back on its database: the next recompute sees everything.
    stack.logger = await startService('learning-events', { DATABASE_URL: stack.loggerDatabaseUrl }, { port: stack.logger.port });
    const again = await recompute(stack.brain.url, user);
    expect(again.status).toBe(200);
    expect(again.body.events_processed).toBe(6200);
    expect(await readMastery(stack.brain.url, user)).toEqual(expectedRecords([...early, ...later], user));
  } finally {
    await stack.stop();
  }
});

/** The seq of the feed cursor the Brain has committed to its database, read from there (the Brain may be dead). */
async function committedCursor(stack: { brainEnv: Record<string, string> }): Promise<number> {
  const row = await withDatabase(stack.brainEnv.DATABASE_URL!, (db) =>
    db('feed_cursor').where('id', 1).first<{ cursor: string }>('cursor'),
  );
  return parseFeedPosition(row.cursor)!.seq;
}

describe('through a fake upstream in front of the real Logger', () => {
  let fake: Awaited<ReturnType<typeof startFakeUpstream>>;
  let stack: Awaited<ReturnType<typeof startStack>>;
  let events: StoredEvent[];
  const user = 'faulty';

  beforeAll(async () => {
    stack = await startStack({
      brainEnv: { FEED_CONSUMER_ENABLED: 'false', LEARNING_EVENTS_TIMEOUT_MS: '300', LEARNING_EVENTS_DEADLINE_MS: '5000' },
      upstreamUrl: async (loggerUrl) => {
        fake = await startFakeUpstream(loggerUrl);
        return fake.url;
      },
    });
    events = await logEvents(stack.logger.url, mixedEvents(user, 120, 3));
    expect((await recompute(stack.brain.url, user)).status).toBe(200);
  });
  afterAll(async () => {
    await stack.stop();
    await fake.close();
  });
  beforeEach(() => {
    fake.seen.length = 0;
    fake.script.length = 0;
  });

  async function expectUntouched(before: unknown) {
    expect((await request(`${stack.brain.url}/mastery/${user}`)).body).toEqual(before);
  }

  test('503 once, then success: the retry succeeds', async () => {
    const retriesBefore = await metric(stack.brain.url, 'learning_events_client_retries_total');
    fake.script.push({ status: 503, body: '{"error":{"code":"service_unavailable","message":"","details":[]}}' });
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(200);
    expect(res.body.events_processed).toBe(120);
    expect(fake.seen).toHaveLength(2);
    expect(fake.seen[1]!.url).toBe(fake.seen[0]!.url);
    expect(await metric(stack.brain.url, 'learning_events_client_retries_total')).toBe(retriesBefore + 1);
    expect(await metric(stack.brain.url, 'learning_events_client_requests_total{status="503"}')).toBeGreaterThanOrEqual(1);
    expect(await readMastery(stack.brain.url, user)).toEqual(expectedRecords(events, user));
  });

  test('429 with Retry-After: 1 is honoured before the retry', async () => {
    fake.script.push({ status: 429, headers: { 'retry-after': '1' } });
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(200);
    expect(fake.seen).toHaveLength(2);
    expect(fake.seen[1]!.at - fake.seen[0]!.at).toBeGreaterThanOrEqual(950);
  });

  test('503 on every attempt: 503 after the configured retries, mastery untouched', async () => {
    const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
    fake.script.push({ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('upstream_unavailable');
    expect(fake.seen).toHaveLength(3); // LEARNING_EVENTS_RETRIES=2: one attempt and two retries
    await expectUntouched(before);
  });

  test('a Logger that stalls past the timeout: 504, every attempt timed out, mastery untouched', async () => {
    const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
    fake.script.push('stall', 'stall', 'stall');
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(504);
    expect(res.body).toEqual({ error: { code: 'upstream_timeout', message: expect.any(String), details: [] } });
    expect(fake.seen).toHaveLength(3);
    await expectUntouched(before);
  });

  test('a stall on a later page fails the whole recompute: nothing half-written', async () => {
    const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
    await stack.restartBrain('SIGTERM', { LEARNING_EVENTS_PAGE_SIZE: '50', LEARNING_EVENTS_RETRIES: '0' });
    await logEvents(stack.logger.url, mixedEvents(user, 30, 3, 5000)); // would change the records
    fake.script.push('forward', 'stall');
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(504);
    expect(fake.seen).toHaveLength(2);
    expect(fake.seen[1]!.url).toContain('cursor=');
    await expectUntouched(before);
    await stack.restartBrain('SIGTERM');
  });

  test.each([
    ['a body that is not JSON', 'this is not json'],
    ['JSON of the wrong shape', '{"events":"nope"}'],
    ['events missing required fields', '[{"user_id":"faulty","seq":1}]'],
  ])('garbage (%s): 502, not retried, mastery untouched', async (_name, body) => {
    const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
    fake.script.push({ status: 200, body });
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('upstream_bad_response');
    expect(fake.seen).toHaveLength(1);
    await expectUntouched(before);
  });

  /** An event as a timeline lists it, for scripted answers: a valid one, unless overridden. */
  const listed = (overrides: object) => ({
    ...events[0],
    timestamp: '2024-01-01T00:00:00.000Z',
    recorded_at: '2024-01-01T00:00:00.000Z',
    ...overrides,
  });

  test.each([
    ['without Feed-Settled-Through', {}],
    ['whose Feed-Settled-Through is no position', { 'feed-settled-through': '42' }],
  ])('a timeline %s: 502, not retried, mastery untouched', async (_name, headers) => {
    const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
    fake.script.push({ status: 200, body: JSON.stringify([listed({})]), headers });
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ code: 'upstream_bad_response', details: [{ path: 'header:/feed-settled-through' }] });
    expect(fake.seen).toHaveLength(1);
    await expectUntouched(before);
  });

  test("another student's events in the answer: 502", async () => {
    const other = listed({ user_id: 'someone-else', event_id: '00000000-0000-4000-8000-000000000000' });
    fake.script.push({ status: 200, body: JSON.stringify([other]), headers: SETTLED_TIMELINE });
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(502);
  });

  test('an event whose time matches the shape but is no date: 502, mastery untouched', async () => {
    const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
    const noDate = listed({ timestamp: '2024-13-45T25:61:61.000Z' });
    fake.script.push({ status: 200, body: JSON.stringify([noDate]), headers: SETTLED_TIMELINE });
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('upstream_bad_response');
    await expectUntouched(before);
  });

  test('a recompute that fails on a page aborts the page requested ahead of it; the Brain lives on', async () => {
    const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
    // A timeout far beyond the test: the request ahead can only end by being aborted.
    await stack.restartBrain('SIGTERM', {
      LEARNING_EVENTS_PAGE_SIZE: '50',
      LEARNING_EVENTS_RETRIES: '0',
      LEARNING_EVENTS_TIMEOUT_MS: '60000',
    });
    const other = listed({ user_id: 'someone-else' });
    const next = `</events/${user}?limit=50&cursor=ahead>; rel="next"`;
    fake.script.push({ status: 200, body: JSON.stringify([other]), headers: { ...SETTLED_TIMELINE, link: next } }, 'stall');
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(502);
    await metricReaches(stack.brain.url, 'learning_events_client_requests_total{status="aborted"}', '===', 1, { timeoutMs: 5000 });
    expect(await metric(stack.brain.url, 'learning_events_client_requests_total{status="timeout"}')).toBe(0);
    expect(fake.seen[0]!.url).toBe(`/events/${user}?limit=50&settled=true`);
    await expectUntouched(before);
    // Alive, and nothing of the abandoned request left behind: the next recompute reads it all.
    expect((await request(`${stack.brain.url}/health`)).status).toBe(200);
    fake.script.length = 0;
    expect((await recompute(stack.brain.url, user)).status).toBe(200);
    await stack.restartBrain('SIGTERM');
  });

  test('a 4xx is never retried: 502', async () => {
    const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
    fake.script.push({ status: 404, body: '{"error":{"code":"not_found","message":"","details":[]}}' });
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(502);
    expect(fake.seen).toHaveLength(1);
    await expectUntouched(before);
  });
});

test('the Logger unreachable from the start: recompute 503, /health and reads still fine', async () => {
  const stack = await startStack({ brainEnv: { LEARNING_EVENTS_URL: 'http://127.0.0.1:9' } });
  try {
    const res = await recompute(stack.brain.url, 'anyone');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('upstream_unavailable');
    expect((await request(`${stack.brain.url}/health`)).status).toBe(200);
    expect((await request(`${stack.brain.url}/ready`)).status).toBe(200);
    expect((await request(`${stack.brain.url}/mastery/anyone`)).body).toEqual([]);
    // The feed cannot be read: the lag in seconds grows instead of showing the last good value.
    await metricReaches(stack.brain.url, 'mastery_feed_lag_seconds', '>=', 0.5, { pollMs: 5 });
  } finally {
    await stack.stop();
  }
});

test('the Brain SIGKILLed while the feed has unconsumed events: nothing lost, nothing doubled', async () => {
  const stack = await startStack({ brainEnv: { FEED_PAGE_SIZE: '10' } });
  try {
    const users = ['rt-a', 'rt-b', 'rt-c'];
    const first = await logEvents(
      stack.logger.url,
      users.flatMap((u) => mixedEvents(u, 700, 4)),
    );
    const firstHead = Math.max(...first.map((e) => e.seq));
    // Kill it mid-way through applying them (pages of 10 events, one transaction each).
    await metricReaches(stack.brain.url, 'mastery_feed_cursor_seq', '>', 0, { pollMs: 5 });
    await stack.brain.kill('SIGKILL');
    // The kill really landed mid-feed: the cursor the Brain had committed is past the first page
    // and short of the events the Logger had acknowledged, so some were in flight.
    const cursorAtKill = await committedCursor(stack);
    if (!(cursorAtKill > 0 && cursorAtKill < firstHead)) {
      throw new Error(
        `the SIGKILL did not land mid-feed: the Brain had committed its cursor at ${cursorAtKill} of ${firstHead} acknowledged events`,
      );
    }
    // More events while it is down.
    const second = await logEvents(
      stack.logger.url,
      users.flatMap((u) => mixedEvents(u, 200, 4, 700)),
    );
    await stack.restartBrain();
    const all = [...first, ...second];
    const head = Math.max(...all.map((e) => e.seq));
    await caughtUp(stack.brain.url, head);
    expect(await metric(stack.brain.url, 'mastery_feed_lag_events')).toBe(0);
    expect(await metric(stack.brain.url, 'mastery_feed_lag_seconds')).toBe(0);
    for (const user of users) {
      expect(await readMastery(stack.brain.url, user)).toEqual(expectedRecords(all, user));
    }
    // A recompute agrees with what real time built, and has nothing to change.
    const res = await recompute(stack.brain.url, 'rt-a');
    expect(res.body).toMatchObject({ events_processed: 900, concepts_written: 0 });
  } finally {
    await stack.stop();
  }
});

test('the consumer backs off while the Logger is down and catches up when it returns', async () => {
  const stack = await startStack();
  try {
    const user = 'outage';
    const before = await logEvents(stack.logger.url, mixedEvents(user, 50, 2));
    await caughtUp(stack.brain.url, before[before.length - 1]!.seq);
    const port = stack.logger.port;
    await stack.logger.kill('SIGKILL');
    const failures = 'learning_events_client_requests_total{status="network_error"}';
    await metricReaches(stack.brain.url, failures, '>=', 3);
    stack.logger = await startService('learning-events', { DATABASE_URL: stack.loggerDatabaseUrl }, { port });
    const after = await logEvents(stack.logger.url, mixedEvents(user, 50, 2, 50));
    await caughtUp(stack.brain.url, after[after.length - 1]!.seq);
    expect(await readMastery(stack.brain.url, user)).toEqual(expectedRecords([...before, ...after], user));
  } finally {
    await stack.stop();
  }
});
