// The right to erasure end to end, both services as real processes: the Logger deletes a student's
// events and marks the feed, the Brain's consumer deletes the records, and nothing of the student
// is left in either database. Then the same student comes back with new events.
import { readFileSync, existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { request } from '../../../test-support/http.js';
import { testEngine, withDatabase } from '../../../test-support/database.js';
import { parseFeedPosition } from '@learning-analytics/common';
import {
  caughtUp,
  eventually,
  expectedRecords,
  feedEnd,
  logEvents,
  mixedEvents,
  quiz,
  readMastery,
  startStack,
  type Stack,
} from './support.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.stop());

const erase = (url: string) => request(url, { method: 'DELETE' });

/** Every byte of the database files: the main file, and its write-ahead log when there is one. */
function databaseBytes(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`].filter((path) => existsSync(path)).map((path) => readFileSync(path)));
}

/** Whether the text occurs in the bytes, as UTF-8 (how SQLite stores it). */
const contains = (bytes: Buffer, text: string) => bytes.includes(Buffer.from(text, 'utf8'));

/**
 * Whether the text occurs anywhere in the database: on SQLite in the bytes of its files, free
 * pages and write-ahead log included; on PostgreSQL in any column of any row of its tables
 * (dead rows' bytes stay in their pages until VACUUM, see the README).
 */
async function stored(databaseUrl: string, text: string): Promise<boolean> {
  if (testEngine() === 'sqlite') return contains(databaseBytes(databaseUrl.replace(/^sqlite:/, '')), text);
  return withDatabase(databaseUrl, async (db) => {
    const { rows } = await db.raw<{ rows: Array<{ tablename: string }> }>("select tablename from pg_tables where schemaname = 'public'");
    for (const { tablename } of rows) {
      const hit = await db.raw<{ rows: unknown[] }>('select 1 from ?? t where t::text like ? limit 1', [tablename, `%${text}%`]);
      if (hit.rows.length > 0) return true;
    }
    return false;
  });
}

test('erasing a student removes every event and record, in both services and both databases; the others are untouched', async () => {
  const { logger, brain } = stack;
  const erased = `erase-me-${randomUUID()}`;
  const kept = `keep-me-${randomUUID()}`;
  const mine = await logEvents(logger.url, mixedEvents(erased, 300, 4));
  const theirs = await logEvents(logger.url, mixedEvents(kept, 120, 4));
  await caughtUp(brain.url, theirs.at(-1)!.seq);
  expect((await readMastery(brain.url, erased)).length).toBe(4);
  const keptBefore = await readMastery(brain.url, kept);
  expect(keptBefore).toEqual(expectedRecords(theirs, kept));

  const before = await feedEnd(logger.url);
  const res = await erase(`${logger.url}/events/${encodeURIComponent(erased)}`);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ user_id: erased, events_deleted: mine.length });

  const feed = await request(`${logger.url}/feed?cursor=${before}`);
  expect(feed.body.events).toEqual([]);
  expect(feed.body.erasures).toEqual([
    {
      seq: expect.any(Number),
      position: expect.stringMatching(/^\d{20}\.\d{16}$/),
      user_id_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      events_deleted: mine.length,
      erased_at: expect.any(String),
    },
  ]);
  const marker = feed.body.erasures[0] as { seq: number; position: string };
  expect(marker.position > before).toBe(true);
  expect(parseFeedPosition(marker.position)!.seq).toBe(marker.seq);
  expect(marker.seq).toBeGreaterThan(theirs.at(-1)!.seq);
  expect(feed.body.head_seq).toBe(marker.seq);
  await caughtUp(brain.url, marker.seq);
  // The Brain remembers the erasure by its place in the feed.
  expect(await withDatabase(stack.brainEnv.DATABASE_URL!, (db) => db('erasures').pluck('position'))).toEqual([marker.position]);

  expect((await request(`${logger.url}/events/${encodeURIComponent(erased)}`)).body).toEqual([]);
  expect((await request(`${brain.url}/mastery/${encodeURIComponent(erased)}`)).body).toEqual([]);
  expect((await request(`${brain.url}/mastery/${encodeURIComponent(erased)}?model=bkt`)).body).toEqual([]);
  const recompute = await request(`${brain.url}/mastery/recompute/${encodeURIComponent(erased)}`, { method: 'POST' });
  expect(recompute.status).toBe(200);
  expect(recompute.body).toMatchObject({ events_processed: 0, concepts_written: 0 });
  expect((await request(`${brain.url}/mastery/${encodeURIComponent(erased)}`)).body).toEqual([]);
  expect(await readMastery(brain.url, kept)).toEqual(keptBefore);
  expect((await request(`${logger.url}/events/${encodeURIComponent(kept)}`)).body).toHaveLength(theirs.length);

  for (const databaseUrl of [stack.loggerDatabaseUrl, stack.brainEnv.DATABASE_URL!]) {
    expect(await stored(databaseUrl, kept)).toBe(true); // the check can see ids where they are
    expect(await stored(databaseUrl, erased)).toBe(false);
  }

  const again = await erase(`${logger.url}/events/${encodeURIComponent(erased)}`);
  expect(again.body).toEqual({ user_id: erased, events_deleted: 0 });
  expect((await request(`${logger.url}/feed?cursor=${marker.position}`)).body.erasures).toEqual([]);
});

test('a student erased can come back: an erased event_id is stored again as new data, and mastery follows', async () => {
  const { logger, brain } = stack;
  const student = `returning-${randomUUID()}`;
  const eventId = randomUUID();
  const first = await request(`${logger.url}/events`, { json: quiz(student, 'algebra', { score: 90 }, { event_id: eventId }) });
  expect(first.status).toBe(201);
  await caughtUp(brain.url, first.body.seq);
  expect((await erase(`${logger.url}/events/${encodeURIComponent(student)}`)).body.events_deleted).toBe(1);

  const back = await request(`${logger.url}/events`, { json: quiz(student, 'algebra', { score: 10 }, { event_id: eventId }) });
  expect(back.status).toBe(201);
  expect(back.body.seq).toBeGreaterThan(first.body.seq);
  await caughtUp(brain.url, back.body.seq);
  const records = await readMastery(brain.url, student, {});
  expect(records).toEqual([
    { user_id: student, concept_id: 'algebra', model: 'pass_ratio', mastery_score: 0, total_attempts: 1, successful_attempts: 0 },
  ]);
  const recompute = await request(`${brain.url}/mastery/recompute/${encodeURIComponent(student)}`, { method: 'POST' });
  expect(recompute.body).toMatchObject({ events_processed: 1 });
  expect(await readMastery(brain.url, student, {})).toEqual(records);
});

test('an erasure while the Brain is down is applied when it comes back', async () => {
  const { logger } = stack;
  const student = `offline-${randomUUID()}`;
  const events = await logEvents(logger.url, mixedEvents(student, 30, 2));
  await caughtUp(stack.brain.url, events.at(-1)!.seq);
  await stack.brain.kill('SIGKILL');
  expect((await erase(`${logger.url}/events/${encodeURIComponent(student)}`)).body.events_deleted).toBe(30);
  await stack.restartBrain('SIGKILL');
  let left: unknown[] = [];
  await eventually(
    () => `the restarted Brain to apply the erasure of ${student} (records left: ${left.length})`,
    async () => (left = (await request<unknown[]>(`${stack.brain.url}/mastery/${encodeURIComponent(student)}`)).body).length === 0,
  );
});

test("DELETE /mastery/{user_id} deletes the Brain's records alone; a recompute rebuilds them from the events", async () => {
  const { logger, brain } = stack;
  const student = `derived-${randomUUID()}`;
  const events = await logEvents(logger.url, mixedEvents(student, 40, 3));
  await caughtUp(brain.url, events.at(-1)!.seq);
  const before = await readMastery(brain.url, student);
  expect(before).toEqual(expectedRecords(events, student));

  const res = await erase(`${brain.url}/mastery/${encodeURIComponent(student)}`);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ user_id: student, records_deleted: 6 }); // 3 concepts, one record per model
  expect((await request(`${brain.url}/mastery/${encodeURIComponent(student)}`)).body).toEqual([]);
  expect((await erase(`${brain.url}/mastery/${encodeURIComponent(student)}`)).body.records_deleted).toBe(0);
  expect((await request(`${logger.url}/events/${encodeURIComponent(student)}`)).body).toHaveLength(40);

  await request(`${brain.url}/mastery/recompute/${encodeURIComponent(student)}`, { method: 'POST' });
  expect(await readMastery(brain.url, student)).toEqual(before);
});

test('each erasure writes one audit log line naming who, which student (as its log pseudonym) and how many rows', async () => {
  const { logger, brain } = stack;
  const student = `audited-${randomUUID()}`;
  const events = await logEvents(logger.url, mixedEvents(student, 5, 1));
  await caughtUp(brain.url, events.at(-1)!.seq);
  const audits = (lines: string[], action: string) =>
    lines
      .filter((line) => line.includes('"audit":true'))
      .map((line) => JSON.parse(line))
      .filter((line) => line.action === action);
  const before = [audits(logger.output, 'erase_student_events').length, audits(brain.output, 'erase_student_mastery').length];
  await erase(`${brain.url}/mastery/${encodeURIComponent(student)}`);
  await erase(`${logger.url}/events/${encodeURIComponent(student)}`);
  // Log lines are written asynchronously: wait for this erasure's.
  await eventually(
    'an erase_student_events audit line from the Logger and an erase_student_mastery one from the Brain',
    () =>
      audits(logger.output, 'erase_student_events').length > before[0]! &&
      audits(brain.output, 'erase_student_mastery').length > before[1]!,
  );
  for (const [lines, action, count] of [
    [logger.output, 'erase_student_events', { events_deleted: 5 }],
    [brain.output, 'erase_student_mastery', { records_deleted: 2 }],
  ] as const) {
    const line = audits(lines, action).at(-1);
    expect(line).toMatchObject({ audit: true, principal: 'anonymous', ...count, at: expect.stringMatching(/Z$/) });
    expect(line.user_id).toMatch(/^p-[0-9a-f]{20}$/);
    expect(lines.join('\n')).not.toContain(student);
  }
});
