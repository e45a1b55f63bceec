// Recompute is bounded: RECOMPUTE_CONCURRENCY at once (one more gets 503 with Retry-After), an
// overall RECOMPUTE_DEADLINE_MS (504, nothing written), and a caller that goes away cancels the
// Logger requests under way. A fake upstream in front of the real Logger holds requests on demand.
import { request } from '../../../test-support/http.js';
import { eventually, logEvents, mixedEvents, startFakeUpstream, startStack, type Stack } from './support.js';

let stack: Stack;
let fake: Awaited<ReturnType<typeof startFakeUpstream>>;
const user = 'bounded';

beforeAll(async () => {
  stack = await startStack({
    brainEnv: {
      FEED_CONSUMER_ENABLED: 'false',
      RECOMPUTE_CONCURRENCY: '2',
      RECOMPUTE_DEADLINE_MS: '1500',
      // Per attempt and per call far beyond the recompute's deadline: only that deadline ends a stall.
      LEARNING_EVENTS_TIMEOUT_MS: '60000',
      LEARNING_EVENTS_DEADLINE_MS: '60000',
    },
    upstreamUrl: async (loggerUrl) => {
      fake = await startFakeUpstream(loggerUrl);
      return fake.url;
    },
  });
  await logEvents(stack.logger.url, mixedEvents(user, 60, 3));
  expect((await request(`${stack.brain.url}/mastery/recompute/${user}`, { method: 'POST' })).status).toBe(200);
});
afterAll(async () => {
  await stack.stop();
  await fake.close();
});

const recompute = (signal?: AbortSignal) =>
  fetch(`${stack.brain.url}/mastery/recompute/${user}`, { method: 'POST', ...(signal ? { signal } : {}) }).then(async (res) => ({
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as { error?: { code: string; message: string } },
  }));

test('beyond RECOMPUTE_CONCURRENCY a recompute is refused with 503 and Retry-After; past the deadline the held ones end 504, writing nothing', async () => {
  const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
  const seenBefore = fake.seen.length;
  fake.script.push('stall', 'stall');
  const held = [recompute(), recompute()];
  await eventually('both recomputes to reach the fake Logger', () => fake.seen.length === seenBefore + 2);

  const refused = await recompute();
  expect(refused).toEqual({
    status: 503,
    retryAfter: '1',
    body: { error: { code: 'service_unavailable', message: expect.stringContaining('RECOMPUTE_CONCURRENCY'), details: [] } },
  });
  expect(fake.seen).toHaveLength(seenBefore + 2); // the refused one never reached the Logger

  for (const res of await Promise.all(held)) {
    expect(res.status).toBe(504);
    expect(res.body.error).toMatchObject({ code: 'upstream_timeout', message: expect.stringContaining('RECOMPUTE_DEADLINE_MS') });
  }
  expect((await request(`${stack.brain.url}/mastery/${user}`)).body).toEqual(before);
  expect((await recompute()).status).toBe(200); // the slots are free again
});

test('a caller that goes away cancels the recompute: the request to the Logger is aborted and nothing is written', async () => {
  const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
  await logEvents(stack.logger.url, mixedEvents(user, 30, 3, 1000)); // would change the records
  const seenBefore = fake.seen.length;
  const stalledBefore = fake.stalled.length;
  fake.script.push('stall');
  const caller = new AbortController();
  const pending = recompute(caller.signal).catch((err: Error) => err.name);
  await eventually(
    'the recompute to reach the fake Logger and be stalled there',
    () => fake.seen.length === seenBefore + 1 && fake.stalled.length === stalledBefore + 1,
  );
  caller.abort();
  expect(await pending).toBe('AbortError');
  const held = fake.stalled.at(-1)!;
  await eventually('the Brain to close its stalled request to the Logger', () => held.socket === null || held.socket.destroyed);
  await eventually("the Brain's log line 'recompute cancelled: the caller went away'", () =>
    stack.brain.output.some((line) => line.includes('recompute cancelled: the caller went away')),
  );
  expect((await request(`${stack.brain.url}/mastery/${user}`)).body).toEqual(before);
  expect((await recompute()).status).toBe(200);
  expect((await request(`${stack.brain.url}/mastery/${user}`)).body).not.toEqual(before);
});
