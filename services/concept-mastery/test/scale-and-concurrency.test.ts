// A 20,000-event student; two concurrent recomputes; recomputes racing the real-time consumer. Each
// must end exactly where one clean run over the same events ends.
import { request } from '../../../test-support/http.js';
import {
  caughtUp,
  cleanRun,
  expectedRecords,
  metric,
  logEvents,
  mixedEvents,
  readMastery,
  recordsOf,
  startStack,
  type Stack,
  type StoredEvent,
} from './support.js';

const recompute = (brainUrl: string, user: string) =>
  request(`${brainUrl}/mastery/recompute/${encodeURIComponent(user)}`, { method: 'POST' });

describe('without the consumer', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ brainEnv: { FEED_CONSUMER_ENABLED: 'false' } });
  });
  afterAll(() => stack.stop());

  test('a student with 20,000 events recomputes correctly', async () => {
    const user = 'twenty-thousand';
    const events = await logEvents(stack.logger.url, mixedEvents(user, 20_000, 9));
    const res = await recompute(stack.brain.url, user);
    expect(res.status).toBe(200);
    const expected = expectedRecords(events, user);
    const skipped = events.filter((e) => e.event_type !== 'quiz_attempt').length;
    expect(res.body).toEqual({
      user_id: user,
      model: 'pass_ratio',
      events_processed: 20_000,
      events_skipped: { not_a_quiz_attempt: skipped },
      concepts_written: 9,
      records_written: expect.objectContaining({ pass_ratio: 9 }),
      duration_ms: expect.any(Number),
    });
    expect(await readMastery(stack.brain.url, user)).toEqual(expected);
    expect(expected.reduce((n, r) => n + r.total_attempts, 0)).toBe(20_000 - skipped);
  });

  test('two concurrent recomputes of one student end equal to one clean run', async () => {
    const user = 'concurrent';
    const events = await logEvents(stack.logger.url, mixedEvents(user, 5000, 12));
    const [a, b] = await Promise.all([recompute(stack.brain.url, user), recompute(stack.brain.url, user)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.events_processed).toBe(5000);
    expect(b.body.events_processed).toBe(5000);
    // Together they wrote each concept once: the second found it already up to date.
    expect(a.body.concepts_written + b.body.concepts_written).toBe(12);
    expect(await readMastery(stack.brain.url, user)).toEqual(expectedRecords(events, user));
    expect(await recordsOf(stack.brain.url, [user])).toEqual(await cleanRun(stack.logger.url, [user]));
  });
});

test('recomputes racing the real-time consumer end equal to one clean run', async () => {
  // Small feed pages keep the consumer behind the recomputes, so it meets events they already folded.
  const stack = await startStack({ brainEnv: { FEED_PAGE_SIZE: '5' } });
  try {
    const users = ['race-a', 'race-b'];
    const logged: StoredEvent[] = [];
    const writes = (async () => {
      for (let i = 0; i < 12; i += 1) {
        logged.push(
          ...(await logEvents(
            stack.logger.url,
            users.flatMap((u) => mixedEvents(u, 150, 5, i * 150)),
          )),
        );
      }
    })();
    let writing = true;
    void writes.finally(() => (writing = false));
    const recomputes: Array<Promise<{ status: number }>> = [];
    while (writing) {
      recomputes.push(...users.map((u) => recompute(stack.brain.url, u)));
      await Promise.all(recomputes.slice(-2));
    }
    await writes;
    for (const res of await Promise.all(recomputes)) expect(res.status).toBe(200);
    expect(recomputes.length).toBeGreaterThanOrEqual(4);
    await caughtUp(stack.brain.url, Math.max(...logged.map((e) => e.seq)));
    for (const user of users) expect(await readMastery(stack.brain.url, user)).toEqual(expectedRecords(logged, user));
    expect(await recordsOf(stack.brain.url, users)).toEqual(await cleanRun(stack.logger.url, users));
    // The race happened: the consumer met events a recompute had already folded, and skipped them.
    expect(await metric(stack.brain.url, 'mastery_feed_events_total{outcome="already_applied"}')).toBeGreaterThan(0);
  } finally {
    await stack.stop();
  }
});
