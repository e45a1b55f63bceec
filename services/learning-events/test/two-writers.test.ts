// Idempotency holds between two Logger processes on one database (two replicas' writers): the same
// event_id sent to both at the same moment is stored once; one caller gets 201, the other 200 for
// the same content or 409 for different content. On PostgreSQL both may look the id up before
// either inserts; the loser's insert meets the unique index and its group is committed again.
import { randomUUID } from 'node:crypto';
import { request } from '../../../test-support/http.js';
import { startService } from '../../../test-support/service-process.js';
import { allStoredEvents, quiz, startLogger, type LoggerUnderTest } from './support.js';

let first: LoggerUnderTest;
let second: Awaited<ReturnType<typeof startService>>;
beforeAll(async () => {
  first = await startLogger();
  second = await startService('learning-events', { DATABASE_URL: first.databaseUrl });
});
afterAll(async () => {
  await second.kill('SIGTERM');
  await first.stop();
});

test('the same event_id posted to two writers at once, 40 times: stored once each time, 201 and 200 (same) or 409 (different)', async () => {
  const ids: string[] = [];
  for (let round = 0; round < 40; round += 1) {
    const eventId = randomUUID();
    ids.push(eventId);
    const same = round % 2 === 0;
    const [a, b] = await Promise.all([
      request(`${first.url}/events`, { json: quiz('twice', 'c', { score: 50 }, { event_id: eventId }) }),
      request(`${second.url}/events`, { json: quiz('twice', 'c', { score: same ? 50 : 51 }, { event_id: eventId }) }),
    ]);
    const statuses = [a.status, b.status].sort().join(',');
    expect({ round, statuses }).toEqual({ round, statuses: same ? '200,201' : '201,409' });
  }
  const stored = (await allStoredEvents(first.url)).map((event: { event_id: string }) => event.event_id);
  expect(stored.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
});
