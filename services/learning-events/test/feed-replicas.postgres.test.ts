// Two Logger replicas on one PostgreSQL database, each with its own writer: the feed never skips an
// event whose transaction commits after a later one's, a cursor or a timeline cursor taken from one
// replica works on the other, and a long poll on one wakes when the other commits.
import { randomUUID } from 'node:crypto';
import { openDatabase, type Knex } from '@learning-analytics/common';
import { request } from '../../../test-support/http.js';
import { eventually, metricReaches } from '../../../test-support/polling.js';
import { startService } from '../../../test-support/service-process.js';
import { quiz, startLogger, type LoggerUnderTest } from './support.js';

let first: LoggerUnderTest;
let second: Awaited<ReturnType<typeof startService>>;
let db: Knex;
const open = new Set<Knex.Transaction>();
beforeAll(async () => {
  first = await startLogger();
  second = await startService('learning-events', { DATABASE_URL: first.databaseUrl });
  db = openDatabase(first.databaseUrl);
});
afterAll(async () => {
  // A test that failed while its transaction was open would leave db.destroy() waiting for it.
  for (const trx of open) await trx.rollback().catch(() => undefined);
  await db.destroy();
  await second.kill('SIGTERM');
  await first.stop();
});

const replicas = () => [first.url, second.url];

interface FeedPage {
  events: Array<{ event_id: string; position: string; user_id: string }>;
  erasures: unknown[];
  next_cursor: string;
}

/** One page of the feed from `url`, after `cursor` ('' for the start). */
async function feedPage(url: string, cursor: string, extra = ''): Promise<FeedPage> {
  const res = await request<FeedPage>(`${url}/feed?limit=50${cursor === '' ? '' : `&cursor=${cursor}`}${extra}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** An event inserted by a transaction of the test's own, left open: committed or rolled back later. */
async function openTransactionWithEvent(userId: string): Promise<{ eventId: string; commit(): Promise<void> }> {
  const trx = await db.transaction();
  open.add(trx);
  const eventId = randomUUID();
  await trx('events').insert({
    event_id: eventId,
    user_id: userId,
    event_type: 'quiz_attempt',
    concept_id: 'c',
    event_details: '{"score":10}',
    occurred_at: Date.now(),
    recorded_at: Date.now(),
  });
  return {
    eventId,
    async commit() {
      open.delete(trx);
      await trx.commit();
    },
  };
}

test('writers on both replicas, a consumer alternating between them: every acknowledged event exactly once, and an open transaction is waited for, never skipped', async () => {
  const acknowledged = new Set<string>();
  const held = await openTransactionWithEvent('held-open');
  let writing = true;
  const writers = Array.from({ length: 8 }, (_, w) =>
    (async () => {
      for (let i = 0; i < 30; i += 1) {
        const res = await request(`${replicas()[w % 2]}/events`, { json: quiz(`replicas-${w}`, 'c', { score: i }) });
        expect(res.status).toBe(201);
        acknowledged.add(res.body.event_id);
      }
    })(),
  );
  const written = Promise.all(writers).finally(() => (writing = false));

  const seen: string[] = [];
  let cursor = '';
  let page = 0;
  // While the test's transaction is open, the feed stops short of it: nothing committed after it began is served.
  while (writing) {
    const body = await feedPage(replicas()[page++ % 2]!, cursor, '&wait_ms=100');
    seen.push(...body.events.map((e) => e.event_id));
    cursor = body.next_cursor;
  }
  await written;
  expect(seen).toEqual([]);
  await metricReaches(first.url, 'feed_held_back_events', '>=', 1, { timeoutMs: 5000 });

  await held.commit();
  for (;;) {
    const body = await feedPage(replicas()[page++ % 2]!, cursor);
    if (body.events.length === 0) break;
    seen.push(...body.events.map((e) => e.event_id));
    cursor = body.next_cursor;
  }
  expect(seen[0]).toBe(held.eventId);
  expect(seen).toHaveLength(new Set(seen).size);
  expect(new Set(seen)).toEqual(new Set([held.eventId, ...acknowledged]));
});

test('a long poll on one replica wakes when the other commits, long before its wait ends', async () => {
  let cursor = '';
  for (let body = await feedPage(second.url, cursor); body.events.length > 0; body = await feedPage(second.url, cursor)) {
    cursor = body.next_cursor;
  }
  const started = Date.now();
  const polling = request<FeedPage>(`${second.url}/feed?cursor=${cursor}&wait_ms=5000`);
  await metricReaches(second.url, 'feed_long_polls_waiting', '===', 1, { timeoutMs: 4000 });
  const posted = await request(`${first.url}/events`, { json: quiz('woken', 'c') });
  const answer = await polling;
  expect(answer.body.events.map((e) => e.event_id)).toEqual([posted.body.event_id]);
  // Woken by the commit rather than by the end of its 5 s wait (the bench measures how soon).
  expect(Date.now() - started).toBeLessThan(4000);
});

test('a timeline paged across both replicas is one snapshot: an open transaction committing meanwhile joins neither page', async () => {
  for (let i = 0; i < 6; i += 1)
    expect((await request(`${first.url}/events`, { json: quiz('paged', 'c', { score: i }) })).status).toBe(201);
  const held = await openTransactionWithEvent('paged');
  const firstPage = await fetch(`${first.url}/events/paged?limit=3`);
  const page1 = (await firstPage.json()) as Array<{ event_id: string }>;
  await held.commit();
  expect((await request(`${second.url}/events`, { json: quiz('paged', 'c', { score: 99 }) })).status).toBe(201);
  const next = /<([^>]+)>; rel="next"/.exec(firstPage.headers.get('link')!)![1]!;
  const page2 = (await request<Array<{ event_id: string }>>(`${second.url}${next}`)).body;
  const listed = [...page1, ...page2].map((e) => e.event_id);
  expect(listed).toHaveLength(6);
  expect(new Set(listed).size).toBe(6);
  expect(listed).not.toContain(held.eventId);
  expect((await request(`${second.url}/events/paged`)).body).toHaveLength(8);
});

test('settled=true leaves out what an open transaction holds back, until it ends', async () => {
  const held = await openTransactionWithEvent('settling');
  const later = await request(`${second.url}/events`, { json: quiz('settling', 'c') });
  expect(later.status).toBe(201);
  const all = await fetch(`${first.url}/events/settling`);
  expect(((await all.json()) as unknown[]).length).toBe(1);
  const settled = await fetch(`${first.url}/events/settling?settled=true`);
  expect(await settled.json()).toEqual([]);
  // The later event's position lies past what the listing calls settled: the feed will bring it.
  const inFeed = (await request<FeedPage>(`${first.url}/feed?limit=10000`)).body.events.find((e) => e.event_id === later.body.event_id);
  expect(inFeed).toBeUndefined();
  expect(settled.headers.get('feed-settled-through')).toMatch(/^\d{20}\.0{16}$/);
  await held.commit();
  await eventually(
    'both events listed as settled',
    async () => ((await request(`${second.url}/events/settling?settled=true`)).body as unknown[]).length === 2,
  );
});
