// The feed consumer's two ways to be stuck, and what it does instead: an event it cannot use (a
// fake upstream serves the real page with one event broken) is set aside as a dead letter and the
// feed goes on; a Logger whose head fell below the cursor (replaced by one on a fresh database)
// raises a gauge and one error line, until its head passes the cursor again.
import { testDatabaseUrl, withDatabase } from '../../../test-support/database.js';
import { request } from '../../../test-support/http.js';
import { makeTempDir, startService } from '../../../test-support/service-process.js';
import { caughtUp, eventually, logEvents, metric, metricReaches, quiz, startFakeUpstream, startStack } from './support.js';

test('an event the consumer cannot use is set aside as a dead letter; the events around it are applied', async () => {
  let fake!: Awaited<ReturnType<typeof startFakeUpstream>>;
  let position!: string;
  const stack = await startStack({
    upstreamUrl: async (loggerUrl) => {
      fake = await startFakeUpstream(loggerUrl);
      await logEvents(loggerUrl, [quiz('dl-a', 'c', { score: 90 }), quiz('dl-b', 'c', { score: 10 }), quiz('dl-c', 'c', { score: 70 })]);
      const page = (await request(`${loggerUrl}/feed?limit=2`)).body;
      page.events[1].user_id = 42; // the Brain's first read of the feed gets this page
      position = page.events[1].position;
      fake.script.push({ status: 200, body: JSON.stringify(page) });
      return fake.url;
    },
  });
  try {
    await caughtUp(stack.brain.url, 3);
    const attempts = async (user: string) =>
      (await request<Array<{ total_attempts: number }>>(`${stack.brain.url}/mastery/${user}`)).body.map((r) => r.total_attempts);
    expect(await attempts('dl-a')).toEqual([1]);
    expect(await attempts('dl-b')).toEqual([]);
    expect(await attempts('dl-c')).toEqual([1]);
    expect(await metric(stack.brain.url, 'mastery_feed_dead_letters_total')).toBe(1);
    await eventually("the Brain's log line 'set aside as a dead letter'", () =>
      stack.brain.output.some((line) => line.includes('set aside as a dead letter')),
    );
    const line = JSON.parse(stack.brain.output.find((l) => l.includes('set aside as a dead letter'))!);
    expect(line).toMatchObject({ level: 'warn', seq: 2, position, reason: expect.stringContaining('/user_id') });

    const deadLetters = await withDatabase(stack.brainEnv.DATABASE_URL!, (db) =>
      db('dead_letters').select('seq', 'position', 'event_id', 'reason'),
    );
    expect(deadLetters.map((row: { seq: number | string }) => ({ ...row, seq: Number(row.seq) }))).toEqual([
      { seq: 2, position, event_id: expect.stringMatching(/^[0-9a-f-]{36}$/), reason: expect.stringContaining('/user_id') },
    ]);
  } finally {
    await stack.stop();
    await fake.close();
  }
});

test('a Logger whose head falls below the cursor raises mastery_feed_head_behind_cursor and logs one error, until its head passes again', async () => {
  const stack = await startStack();
  const fresh = makeTempDir('replaced-logger-');
  try {
    const first = await logEvents(
      stack.logger.url,
      [1, 2, 3, 4, 5].map((i) => quiz(`hb-${i}`, 'c', { score: 80 })),
    );
    await caughtUp(stack.brain.url, first.at(-1)!.seq);
    expect(await metric(stack.brain.url, 'mastery_feed_head_behind_cursor')).toBe(0);

    const port = stack.logger.port;
    await stack.logger.kill('SIGTERM');
    stack.logger = await startService('learning-events', { DATABASE_URL: await testDatabaseUrl(fresh.path, 'events') }, { port });
    await metricReaches(stack.brain.url, 'mastery_feed_head_behind_cursor', '===', 1);
    const polls = await metric(stack.brain.url, 'learning_events_client_requests_total{status="200"}');
    await metricReaches(stack.brain.url, 'learning_events_client_requests_total{status="200"}', '>=', polls + 3);
    const errors = stack.brain.output.filter((line) => line.includes("the Logger's head is behind the feed cursor"));
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!)).toMatchObject({ level: 'error', cursor_seq: 5, head_seq: 0 });

    await logEvents(
      stack.logger.url,
      [1, 2, 3, 4, 5, 6].map((i) => quiz(`hb-new-${i}`, 'c', { score: 80 })),
    );
    await metricReaches(stack.brain.url, 'mastery_feed_head_behind_cursor', '===', 0);
    await eventually("the Brain's log line 'the Logger's head is past the feed cursor again'", () =>
      stack.brain.output.some((line) => line.includes("the Logger's head is past the feed cursor again")),
    );
  } finally {
    await stack.stop();
    fresh.remove();
  }
});
