// GET /feed: every event in feed order after a position, continued from next_cursor.
import { randomUUID } from 'node:crypto';
import { get } from 'node:http';
import { request } from '../../../test-support/http.js';
import { metric, metricReaches } from '../../../test-support/polling.js';
import { testEngine } from '../../../test-support/database.js';
import { quiz, startLogger, type LoggerUnderTest } from './support.js';

/** A GET whose client can be made to go away mid-request (destroy()). */
const httpGet = (url: string) => get(url).on('error', () => undefined);

const START = `${'0'.repeat(20)}.${'0'.repeat(16)}`;

let logger: LoggerUnderTest;
beforeAll(async () => (logger = await startLogger()));
afterAll(() => logger.stop());

/** Where the feed ends now: the position of its last item. */
async function feedEnd(): Promise<string> {
  let cursor = START;
  for (;;) {
    const page = (await request(`${logger.url}/feed?cursor=${cursor}&limit=10000`)).body;
    if (page.events.length + page.erasures.length === 0) return cursor;
    cursor = page.next_cursor;
  }
}

test('an empty log answers an empty page at the start', async () => {
  const res = await request(`${logger.url}/feed`);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ events: [], erasures: [], next_cursor: START, head_seq: 0 });
});

test('consumers read every event once, in feed order, while writers keep writing', async () => {
  // Each acknowledged event by id, with when its acknowledgement arrived.
  const acknowledged = new Map<string, { what: string; at: number }>();
  let failed = false; // then the writers stop, rather than write on into a Logger being stopped
  const writers = Array.from({ length: 8 }, (_, w) =>
    (async () => {
      for (let i = 0; i < 25 && !failed; i += 1) {
        const res = await request(`${logger.url}/events`, { json: quiz(`feed-${w}`, 'c', { score: i }) });
        expect(res.status).toBe(201);
        acknowledged.set(res.body.event_id, { what: `feed-${w}'s event ${i}`, at: performance.now() });
      }
    })(),
  );
  let writing = true;
  const written = Promise.all(writers).finally(() => (writing = false));
  const seen: any[] = [];

  // Each page is checked as it comes, so a feed that skips, repeats or reorders an event fails at
  // that page, naming the event, instead of leaving the loop waiting for it until jest gives up.
  const readTheFeed = async () => {
    const seenIds = new Set<string>();
    let cursor = START;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const writersDone = !writing; // then every event is acknowledged
      const asked = performance.now();
      const page = await request(`${logger.url}/feed?cursor=${cursor}&limit=7&wait_ms=200`);
      expect(page.status).toBe(200);
      const { events, next_cursor, head_seq } = page.body as { events: any[]; next_cursor: string; head_seq: number };
      for (const event of events) {
        const previous = seen.at(-1)?.position ?? cursor;
        if (!(event.position > previous)) {
          throw new Error(`the feed after ${cursor} served position ${event.position} after ${previous}: repeated or out of order`);
        }
        expect(head_seq).toBeGreaterThanOrEqual(event.seq);
        seen.push(event);
        seenIds.add(event.event_id);
      }
      expect(next_cursor).toBe(events.at(-1)?.position ?? cursor);
      if (events.length === 0) {
        // Caught up: every event acknowledged before this page was asked for must have been served.
        const skipped = [...acknowledged].filter(([id, { at }]) => at < asked && !seenIds.has(id));
        if (skipped.length > 0) {
          const named = skipped.map(([, { what }]) => what).join(', ');
          throw new Error(`the feed caught up at ${cursor} without serving acknowledged events: ${named}`);
        }
        if (writersDone) return;
      }
      cursor = next_cursor;
      if (Date.now() > deadline) throw new Error(`the consumer did not catch up within 20 s: at ${cursor}, ${seen.length} events read`);
    }
  };
  try {
    await readTheFeed();
  } catch (err) {
    failed = true;
    await Promise.allSettled(writers);
    throw err;
  }
  await written;
  expect(acknowledged.size).toBe(200);
  expect(seen).toHaveLength(200);
  expect(new Set(seen.map((e) => e.event_id)).size).toBe(200);
  // Each writer's own events appear in the order it wrote them.
  for (let w = 0; w < 8; w += 1) {
    expect(seen.filter((e) => e.user_id === `feed-${w}`).map((e) => e.event_details.score)).toEqual(
      Array.from({ length: 25 }, (_, i) => i),
    );
  }
});

test('after=<seq> continues a consumer of the seq-ordered feed where it was: after position (0, seq)', async () => {
  const events = (await request(`${logger.url}/feed?limit=10000`)).body.events as any[];
  const middle = events[Math.floor(events.length / 2)];
  const res = await request(`${logger.url}/feed?after=${middle.seq}&limit=10000`);
  const asCursor = await request(`${logger.url}/feed?cursor=${'0'.repeat(20)}.${String(middle.seq).padStart(16, '0')}&limit=10000`);
  expect(res.body).toEqual(asCursor.body);
  // On SQLite every transaction is number 0: seq order is feed order. On PostgreSQL the rows this
  // test wrote all have transaction numbers above 0, so all of them follow (0, seq).
  const expected = testEngine() === 'sqlite' ? events.filter((e) => e.position > middle.position) : events;
  expect(res.body.events.map((e: any) => e.event_id)).toEqual(expected.map((e) => e.event_id));
});

test('a long poll answers as soon as an event commits', async () => {
  const polling = request(`${logger.url}/feed?cursor=${await feedEnd()}&wait_ms=5000`);
  await metricReaches(logger.url, 'feed_long_polls_waiting', '===', 1, { timeoutMs: 4000 });
  const posted = await request(`${logger.url}/events`, { json: quiz('poller', 'c') });
  const page = await polling;
  expect(page.body.events.map((e: any) => e.event_id)).toEqual([posted.body.event_id]);
});

test('head_seq is the real head, also when the caller asks past it', async () => {
  const head = (await request(`${logger.url}/feed?limit=1`)).body.head_seq;
  expect(head).toBeGreaterThan(0);
  const past = `00${'9'.repeat(18)}.${String(head + 1000).padStart(16, '0')}`;
  const res = await request(`${logger.url}/feed?cursor=${past}`);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ events: [], erasures: [], next_cursor: past, head_seq: head });
});

describe('long polls', () => {
  const waiting = () => metric(logger.url, 'feed_long_polls_waiting');

  test('a client that goes away stops waiting at once', async () => {
    const end = await feedEnd();
    const clients = Array.from({ length: 10 }, () => httpGet(`${logger.url}/feed?cursor=${end}&wait_ms=5000`));
    await metricReaches(logger.url, 'feed_long_polls_waiting', '===', 10, { timeoutMs: 4000 });
    for (const client of clients) client.destroy();
    await metricReaches(logger.url, 'feed_long_polls_waiting', '===', 0, { timeoutMs: 4000 });
  });

  test('a page that has events answers without registering a wait', async () => {
    const res = await request(`${logger.url}/feed?limit=2&wait_ms=5000`);
    expect(res.body.events).toHaveLength(2);
    expect(await waiting()).toBe(0);
  });

  test('a commit that stores nothing (a retried duplicate) wakes no long poll; the next real one does', async () => {
    const retried = { ...quiz('duplicate-poller', 'c'), event_id: randomUUID() };
    expect((await request(`${logger.url}/events`, { json: retried })).status).toBe(201);
    let answered = false;
    const polling = request(`${logger.url}/feed?cursor=${await feedEnd()}&wait_ms=5000`).then((res) => ((answered = true), res));
    await metricReaches(logger.url, 'feed_long_polls_waiting', '===', 1, { timeoutMs: 4000 });
    expect((await request(`${logger.url}/events`, { json: retried })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect({ answered, waiting: await waiting() }).toEqual({ answered: false, waiting: 1 });
    const posted = await request(`${logger.url}/events`, { json: quiz('duplicate-poller', 'c') });
    expect((await polling).body.events.map((e: any) => e.event_id)).toEqual([posted.body.event_id]);
  });
});
