// GET /feed: every event in commit order after a sequence number, continued from next_after.
import { randomUUID } from 'node:crypto';
import { get } from 'node:http';
import { request } from '../../../test-support/http.js';
import { metric, metricReaches } from '../../../test-support/polling.js';
import { quiz, startLogger, type LoggerUnderTest } from './support.js';

/** A GET whose client can be made to go away mid-request (destroy()). */
const httpGet = (url: string) => get(url).on('error', () => undefined);

let logger: LoggerUnderTest;
beforeAll(async () => (logger = await startLogger()));
afterAll(() => logger.stop());

test('an empty log answers an empty page at seq 0', async () => {
  const res = await request(`${logger.url}/feed`);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ events: [], erasures: [], next_after: 0, head_seq: 0 });
});

test('consumers read every event once, in commit order, while writers keep writing', async () => {
  // Each acknowledged event by seq, as its writer's answers come in.
  const acknowledged = new Map<number, string>();
  let failed = false; // then the writers stop, rather than write on into a Logger being stopped
  const writers = Array.from({ length: 8 }, (_, w) =>
    (async () => {
      for (let i = 0; i < 25 && !failed; i += 1) {
        const res = await request(`${logger.url}/events`, { json: quiz(`feed-${w}`, 'c', { score: i }) });
        expect(res.status).toBe(201);
        acknowledged.set(res.body.seq, `feed-${w}'s event ${i}`);
      }
    })(),
  );
  let writing = true;
  const written = Promise.all(writers).finally(() => (writing = false));
  const seen: any[] = [];

  // Each page is checked as it comes, so a feed that skips, repeats or reorders an event fails at
  // that page, naming the event, instead of leaving the loop waiting for it until jest gives up.
  const readTheFeed = async () => {
    const seenSeqs = new Set<number>();
    let after = 0;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const writersDone = !writing; // then every event is acknowledged, and the page's head covers them all
      const page = await request(`${logger.url}/feed?after=${after}&limit=7&wait_ms=200`);
      expect(page.status).toBe(200);
      const { events, next_after, head_seq } = page.body as { events: any[]; next_after: number; head_seq: number };
      expect(head_seq).toBeGreaterThanOrEqual(next_after);
      for (const event of events) {
        const previous = seen.at(-1)?.seq ?? after;
        if (!(event.seq > previous)) {
          throw new Error(`the feed after ${after} served seq ${event.seq} after seq ${previous}: repeated or out of order`);
        }
        seen.push(event);
        seenSeqs.add(event.seq);
      }
      if (events.length > 0 && next_after !== events.at(-1).seq) {
        throw new Error(`a page ending at seq ${events.at(-1).seq} answered next_after ${next_after}`);
      }
      // seq order is commit order: an acknowledged event at or below where this page ends was
      // committed before the page was read, so it must have been served by now.
      const skipped = [...acknowledged].filter(([seq]) => seq <= next_after && !seenSeqs.has(seq));
      if (skipped.length > 0) {
        const named = skipped.map(([seq, what]) => `seq ${seq} (${what})`).join(', ');
        throw new Error(`the feed went past acknowledged events without serving them: ${named}; read up to ${next_after}`);
      }
      after = next_after;
      if (writersDone && after >= head_seq) return;
      if (Date.now() > deadline) {
        throw new Error(`the consumer did not reach the head within 20 s: at ${after}, head ${head_seq}, ${seen.length} events read`);
      }
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
  const seqs = seen.map((e) => e.seq);
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
  expect(res.body).toEqual({ events: [], erasures: [], next_after: head + 1000, head_seq: head });
});

describe('long polls', () => {
  const waiting = () => metric(logger.url, 'feed_long_polls_waiting');
  const headNow = async () => (await request(`${logger.url}/feed?after=0&limit=1`)).body.head_seq as number;

  test('a client that goes away stops waiting at once', async () => {
    const head = await headNow();
    const clients = Array.from({ length: 10 }, () => httpGet(`${logger.url}/feed?after=${head}&wait_ms=5000`));
    await metricReaches(logger.url, 'feed_long_polls_waiting', '===', 10, { timeoutMs: 4000 });
    for (const client of clients) client.destroy();
    await metricReaches(logger.url, 'feed_long_polls_waiting', '===', 0, { timeoutMs: 4000 });
  });

  test('a page that has events answers without registering a wait', async () => {
    const res = await request(`${logger.url}/feed?after=0&limit=2&wait_ms=5000`);
    expect(res.body.events).toHaveLength(2);
    expect(await waiting()).toBe(0);
  });

  test('a commit that stores nothing (a retried duplicate) wakes no long poll; the next real one does', async () => {
    const retried = { ...quiz('duplicate-poller', 'c'), event_id: randomUUID() };
    expect((await request(`${logger.url}/events`, { json: retried })).status).toBe(201);
    const head = await headNow();
    let answered = false;
    const polling = request(`${logger.url}/feed?after=${head}&wait_ms=5000`).then((res) => ((answered = true), res));
    await metricReaches(logger.url, 'feed_long_polls_waiting', '===', 1, { timeoutMs: 4000 });
    expect((await request(`${logger.url}/events`, { json: retried })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect({ answered, waiting: await waiting() }).toEqual({ answered: false, waiting: 1 });
    const posted = await request(`${logger.url}/events`, { json: quiz('duplicate-poller', 'c') });
    expect((await polling).body.events.map((e: any) => e.event_id)).toEqual([posted.body.event_id]);
  });
});
