// One append the database refuses must not fail the others committed in the same group. The
// refusal is real: a trigger, created from another connection, aborts inserts of one student. The
// requests are made to share one commit by holding the write lock while they arrive.
import { request } from '../../../test-support/http.js';
import { testEngine, withDatabase } from '../../../test-support/database.js';
import { allStoredEvents, holdWriteLock, quiz, startLogger, type LoggerUnderTest } from './support.js';

let logger: LoggerUnderTest;
beforeAll(async () => {
  logger = await startLogger();
  await withDatabase(logger.databaseUrl, async (db) => {
    if (testEngine() === 'sqlite') {
      await db.raw(`create trigger refuse_poison before insert on events when new.user_id = 'poison'
                    begin select raise(abort, 'refused by the test trigger'); end`);
      return;
    }
    await db.raw(`create function refuse_poison() returns trigger language plpgsql as $$
                  begin if new.user_id = 'poison' then raise exception 'refused by the test trigger'; end if; return new; end $$`);
    await db.raw('create trigger refuse_poison before insert on events for each row execute function refuse_poison()');
  });
});
afterAll(() => logger.stop());

test('a refused append fails alone; every other append of its commit group is stored and acknowledged', async () => {
  const release = await holdWriteLock(logger);
  // The first request waits for the lock in a commit of its own; everything after it queues up
  // behind that commit and is committed as one group.
  const first = request(`${logger.url}/events`, { json: quiz('first', 'c') });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const singles = Array.from({ length: 20 }, (_, i) => request(`${logger.url}/events`, { json: quiz(`good-${i}`, 'c') }));
  const poison = request(`${logger.url}/events`, { json: quiz('poison', 'c') });
  const batch = request(`${logger.url}/events/batch`, { json: [quiz('good-batch', 'c'), quiz('good-batch', 'd')] });
  const poisonedBatch = request(`${logger.url}/events/batch`, { json: [quiz('mixed', 'c'), quiz('poison', 'd')] });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await release();

  expect((await first).status).toBe(201);
  expect((await Promise.all(singles)).map((res) => res.status)).toEqual(singles.map(() => 201));
  expect((await batch).status).toBe(201);
  for (const refused of [await poison, await poisonedBatch]) {
    expect(refused.status).toBe(500);
    expect(refused.body).toEqual({ error: { code: 'internal_error', message: 'An internal error occurred.', details: [] } });
  }

  const stored = await allStoredEvents(logger.url);
  const users = stored.map((event: { user_id: string }) => event.user_id);
  expect(users.filter((user) => user.startsWith('good-'))).toHaveLength(22);
  expect(users).not.toContain('poison');
  expect(users).not.toContain('mixed'); // a batch is all or nothing
});
