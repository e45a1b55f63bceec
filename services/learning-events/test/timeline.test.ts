// A student's timeline: order, filters, Unicode and encoded ids, streaming, and paging that
// neither skips nor repeats while writes continue.
import { request } from '../../../test-support/http.js';
import { quiz, startLogger, type LoggerUnderTest } from './support.js';

let logger: LoggerUnderTest;
beforeAll(async () => (logger = await startLogger()));
afterAll(() => logger.stop());

const at = (minute: number) => new Date(Date.UTC(2024, 0, 1, 0, minute)).toISOString();

/** Follows the next links from the first page; fails if they lead on past `maxPages` (a cursor that loops). */
async function pageThrough(path: string, limit: number, onPage?: (n: number) => Promise<void>, maxPages = 200) {
  const seen: any[] = [];
  let next: string | undefined = `${path}${path.includes('?') ? '&' : '?'}limit=${limit}`;
  let pages = 0;
  while (next) {
    if (pages === maxPages) throw new Error(`${path}: still a next link after ${maxPages} pages of ${limit} (${seen.length} events)`);
    const res: { status: number; body: any[]; headers: Headers } = await request(`${logger.url}${next}`);
    expect(res.status).toBe(200);
    expect(res.body.length).toBeLessThanOrEqual(limit);
    seen.push(...res.body);
    pages += 1;
    const link: string | null = res.headers.get('link');
    next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
    if (onPage) await onPage(pages);
  }
  return seen;
}

test('oldest first by timestamp, then by seq; unknown user is an empty list', async () => {
  const events = [quiz('order', 'a', { score: 1 }, { timestamp: at(5) }), quiz('order', 'b', { score: 2 }, { timestamp: at(1) })];
  events.push(quiz('order', 'c', { score: 3 }, { timestamp: at(5) }));
  expect((await request(`${logger.url}/events/batch`, { json: events })).status).toBe(201);
  const res = await request(`${logger.url}/events/order`);
  expect(res.status).toBe(200);
  expect(res.body.map((e: any) => e.concept_id)).toEqual(['b', 'a', 'c']);
  expect(res.body[1].seq).toBeLessThan(res.body[2].seq);
  expect((await request(`${logger.url}/events/nobody-at-all`)).body).toEqual([]);
});

test('filters: concept (query or path), event type, since (inclusive), until (exclusive)', async () => {
  const batch = [
    quiz('filter', 'math', { score: 1 }, { timestamp: at(1) }),
    { user_id: 'filter', event_type: 'video_watched', concept_id: 'math', timestamp: at(2) },
    quiz('filter', 'art', { score: 3 }, { timestamp: at(3) }),
    quiz('filter', 'math', { score: 4 }, { timestamp: at(4) }),
  ];
  expect((await request(`${logger.url}/events/batch`, { json: batch })).status).toBe(201);
  const scores = (res: any) => res.body.map((e: any) => e.event_details.score ?? e.event_type);
  expect(scores(await request(`${logger.url}/events/filter?concept_id=math`))).toEqual([1, 'video_watched', 4]);
  expect(scores(await request(`${logger.url}/events/filter/math`))).toEqual([1, 'video_watched', 4]);
  expect(scores(await request(`${logger.url}/events/filter/math?event_type=quiz_attempt`))).toEqual([1, 4]);
  const since = encodeURIComponent('2024-01-01T02:02:00+02:00'); // = at(2), written with an offset
  expect(scores(await request(`${logger.url}/events/filter?since=${since}&until=${at(4)}`))).toEqual(['video_watched', 3]);
});

test('ids hold any Unicode, "/" included when encoded', async () => {
  const user = 'élève/42 👩‍🎓 学生';
  const concept = 'fractions/½ & more?';
  const created = await request(`${logger.url}/events`, { json: quiz(user, concept, { correct: true }) });
  expect(created.status).toBe(201);
  expect(created.headers.get('location')).toBe(`/events/${encodeURIComponent(user)}/${encodeURIComponent(concept)}`);
  const byUser = await request(`${logger.url}/events/${encodeURIComponent(user)}`);
  expect(byUser.body).toEqual([created.body]);
  const byConcept = await request(`${logger.url}${created.headers.get('location')}`);
  expect(byConcept.body).toEqual([created.body]);
  expect((await request(`${logger.url}/events/${encodeURIComponent('élève')}`)).body).toEqual([]);
});

test('paging returns every event exactly once while new (even back-dated) events arrive', async () => {
  const initial = Array.from({ length: 250 }, (_, i) => quiz('pager', `c${i % 7}`, { score: i % 101 }, { timestamp: at(i % 60) }));
  for (let i = 0; i < initial.length; i += 100) {
    expect((await request(`${logger.url}/events/batch`, { json: initial.slice(i, i + 100) })).status).toBe(201);
  }
  const everything = (await request(`${logger.url}/events/pager`)).body;
  let written = 0;
  const paged = await pageThrough('/events/pager', 17, async () => {
    // Between pages: one back-dated event (sorts before what was served) and one new one.
    await request(`${logger.url}/events`, { json: quiz('pager', 'late', { score: 1 }, { timestamp: at(0) }) });
    await request(`${logger.url}/events`, { json: quiz('pager', 'new', { score: 2 }) });
    written += 2;
  });
  expect(paged.map((e) => e.event_id)).toEqual(everything.map((e: any) => e.event_id));
  expect(new Set(paged.map((e) => e.event_id)).size).toBe(250);
  // A new listing sees the events written meanwhile.
  expect((await request(`${logger.url}/events/pager`)).body).toHaveLength(250 + written);
});

test('filters hold across pages: event type and concept over interleaved types, each leaving the others out', async () => {
  const types = ['quiz_attempt', 'video_watched', 'assignment_submitted'];
  // Types and concepts interleaved, times repeating, so every page of a filtered listing has
  // events of other types and concepts around it (and ties in time, ordered by seq) to leave out.
  const batch = Array.from({ length: 90 }, (_, n) => ({
    user_id: 'mixed-pager',
    event_type: types[n % 3]!,
    concept_id: `c${n % 2}`,
    event_details: { score: n },
    timestamp: at((n * 7) % 30),
  }));
  expect((await request(`${logger.url}/events/batch`, { json: batch })).status).toBe(201);
  // Expected independently of the service: oldest first, then in batch order (seq order).
  const expected = (keep: (e: (typeof batch)[number]) => boolean) =>
    batch
      .map((e, n) => ({ ...e, n }))
      .filter(keep)
      .sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.n - b.n)
      .map((e) => e.n);
  const scores = (events: any[]) => events.map((e) => e.event_details.score as number);

  const unfiltered = await pageThrough('/events/mixed-pager', 4);
  expect(scores(unfiltered)).toEqual(expected(() => true));
  for (const type of types) {
    const paged = await pageThrough(`/events/mixed-pager?event_type=${type}`, 4);
    const leaked = paged.filter((e) => e.event_type !== type).map((e) => `${e.event_type} #${e.event_details.score}`);
    expect({ event_type: type, leaked }).toEqual({ event_type: type, leaked: [] });
    expect(scores(paged)).toEqual(expected((e) => e.event_type === type));
    expect(paged).toHaveLength(30);
    const streamed = (await request(`${logger.url}/events/mixed-pager?event_type=${type}`)).body;
    expect(scores(streamed)).toEqual(scores(paged));
    // With a concept as well, by query and by path.
    const wanted = expected((e) => e.event_type === type && e.concept_id === 'c1');
    expect(wanted).toHaveLength(15);
    expect(scores(await pageThrough(`/events/mixed-pager?concept_id=c1&event_type=${type}`, 4))).toEqual(wanted);
    expect(scores(await pageThrough(`/events/mixed-pager/c1?event_type=${type}`, 4))).toEqual(wanted);
  }
  expect(await pageThrough('/events/mixed-pager?event_type=no_such_type', 4)).toEqual([]);
});

test('without limit the whole history streams as one JSON array, equal to the paged listing', async () => {
  const batch = Array.from({ length: 1000 }, (_, i) => quiz('streamer', 'c', { score: i % 100 }));
  for (let i = 0; i < 5; i += 1) expect((await request(`${logger.url}/events/batch`, { json: batch })).status).toBe(201);
  const streamed = await request(`${logger.url}/events/streamer`);
  expect(streamed.status).toBe(200);
  expect(streamed.headers.get('content-type')).toContain('application/json');
  expect(streamed.body).toHaveLength(5000);
  const paged = await pageThrough('/events/streamer', 1500);
  expect(streamed.body.map((e: any) => e.seq)).toEqual(paged.map((e) => e.seq));
});

test('a page stops short of 8 MiB of JSON, and following it still yields every event once (timeline and feed)', async () => {
  const notes = 'n'.repeat(14 * 1024);
  for (let b = 0; b < 7; b += 1) {
    const batch = Array.from({ length: 100 }, (_, i) => quiz('heavy', 'c', { score: (b * 100 + i) % 101, notes }));
    expect((await request(`${logger.url}/events/batch`, { json: batch })).status).toBe(201);
  }
  const first = await fetch(`${logger.url}/events/heavy?limit=1000`);
  const firstText = await first.text();
  expect(firstText.length).toBeLessThanOrEqual(8 * 1024 * 1024 + 2);
  expect(JSON.parse(firstText).length).toBeLessThan(700);
  expect(first.headers.get('link')).toMatch(/rel="next"$/);
  const paged = await pageThrough('/events/heavy', 1000);
  expect(paged.map((e) => e.seq)).toEqual((await request(`${logger.url}/events/heavy`)).body.map((e: any) => e.seq));
  expect(paged).toHaveLength(700);

  const fromFeed: any[] = [];
  let cursor = '';
  for (;;) {
    const res = await fetch(`${logger.url}/feed?limit=10000${cursor === '' ? '' : `&cursor=${cursor}`}`);
    const text = await res.text();
    expect(text.length).toBeLessThanOrEqual(8 * 1024 * 1024 + 200);
    const page = JSON.parse(text);
    if (page.events.length === 0) break;
    fromFeed.push(...page.events.filter((e: any) => e.user_id === 'heavy'));
    if (!(page.next_cursor > cursor)) throw new Error(`the feed after ${cursor} served events but next_cursor ${page.next_cursor}`);
    cursor = page.next_cursor;
  }
  expect(fromFeed.map((e) => e.seq)).toEqual(paged.map((e) => e.seq).sort((a, b) => a - b));
});
