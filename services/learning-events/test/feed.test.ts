// GET /feed: every event in commit order after a sequence number, continued from next_after.
import { request } from '../../../test-support/http.js';
import { quiz, startLogger, type LoggerUnderTest } from './support.js';

let logger: LoggerUnderTest;
beforeAll(async () => (logger = await startLogger()));
afterAll(() => logger.stop());

test('an empty log answers an empty page at seq 0', async () => {
  const res = await request(`${logger.url}/feed`);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ events: [], next_after: 0, head_seq: 0 });
});

test('consumers read every event once, in commit order, while writers keep writing', async () => {
  const writers = Array.from({ length: 8 }, (_, w) =>
    (async () => {
      for (let i = 0; i < 25; i += 1) {
        const res = await request(`${logger.url}/events`, { json: quiz(`feed-${w}`, 'c', { score: i }) });
        expect(res.status).toBe(201);
      }
    })(),
  );
  const seen: any[] = [];
  let after = 0;
  const done = Promise.all(writers);
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished || seen.length < 200) {
    const page = await request(`${logger.url}/feed?after=${after}&limit=7&wait_ms=200`);
    expect(page.status).toBe(200);
    expect(page.body.head_seq).toBeGreaterThanOrEqual(page.body.next_after);
    seen.push(...page.body.events);
    after = page.body.next_after;
  }
  await done;
  expect(seen).toHaveLength(200);
  const seqs = seen.map((e) => e.seq);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(200);
  // Each writer's own events appear in the order it wrote them.
  for (let w = 0; w < 8; w += 1) {
    expect(seen.filter((e) => e.user_id === `feed-${w}`).map((e) => e.event_details.score)).toEqual(
      Array.from({ length: 25 }, (_, i) => i),
    );
  }
});

test('a long poll answers as soon as an event commits', async () => {
  const head = (await request(`${logger.url}/feed?after=0&limit=1`)).body.head_seq;
  const polling = request(`${logger.url}/feed?after=${head}&wait_ms=5000`);
  await new Promise((r) => setTimeout(r, 100));
  const posted = await request(`${logger.url}/events`, { json: quiz('poller', 'c') });
  const page = await polling;
  expect(page.body.events.map((e: any) => e.event_id)).toEqual([posted.body.event_id]);
});

test('head_seq is the real head, also when the caller asks past it', async () => {
  const head = (await request(`${logger.url}/feed?after=0&limit=1`)).body.head_seq;
  expect(head).toBeGreaterThan(0);
  const res = await request(`${logger.url}/feed?after=${head + 1000}`);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ events: [], next_after: head + 1000, head_seq: head });
});
