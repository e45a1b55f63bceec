// Feed order by position, not seq, produced by the real Logger on PostgreSQL: a transaction of the
// test's own takes its transaction number, the Logger commits events after it (higher numbers,
// lower seqs), and only then does the held transaction insert its event (a higher seq, a lower
// position) and commit. Until it does, the feed holds the Logger's events back and a timeline
// lists them unsettled; a recompute then folds only what is settled. Afterwards the consumer
// applies the held event first, the others after it, none twice, and every model's records equal
// a clean recompute (the BKT ones refolded into timeline order: the held event is back-dated).
import { randomUUID } from 'node:crypto';
import { openDatabase, parseFeedPosition } from '@learning-analytics/common';
import { request } from '../../../test-support/http.js';
import { withDatabase } from '../../../test-support/database.js';
import {
  caughtUp,
  cleanRun,
  eventually,
  expectedRecords,
  feedEnd,
  logEvents,
  metric,
  mixedEvents,
  readMastery,
  recordsOf,
  startStack,
  type StoredEvent,
} from './support.js';

test('an event committed after others but placed before them in the feed: recompute folds only the settled, the consumer applies all once, in position order', async () => {
  const stack = await startStack();
  const loggerDb = openDatabase(stack.loggerDatabaseUrl);
  const user = 'interleaved';
  const recompute = () => request(`${stack.brain.url}/mastery/recompute/${user}`, { method: 'POST' });
  try {
    const before = await logEvents(stack.logger.url, mixedEvents(user, 30, 2));
    await caughtUp(stack.brain.url, Math.max(...before.map((e) => e.seq)));

    const held = await loggerDb.transaction();
    const heldEvent: StoredEvent & { event_id: string } = {
      event_id: randomUUID(),
      user_id: user,
      event_type: 'quiz_attempt',
      concept_id: 'concept-0',
      event_details: { score: 100 },
      timestamp: '2023-06-01T00:00:00.000Z', // before every other event: back-dated wherever it lands
      seq: 0,
    };
    let later: StoredEvent[];
    try {
      // The transaction's number is taken now; its event's seq only when it inserts it.
      await held.raw('select pg_current_xact_id()');
      later = await logEvents(stack.logger.url, mixedEvents(user, 30, 2, 30));

      // Committed and listed, but behind the open transaction: not settled, so not folded.
      expect((await request<unknown[]>(`${stack.logger.url}/events/${user}`)).body).toHaveLength(60);
      expect((await request<unknown[]>(`${stack.logger.url}/events/${user}?settled=true`)).body).toHaveLength(30);
      const res = await recompute();
      expect(res.status).toBe(200);
      expect(res.body.events_processed).toBe(30);
      expect(await readMastery(stack.brain.url, user)).toEqual(expectedRecords(before, user));

      const [{ seq }] = await held('events')
        .insert({
          event_id: heldEvent.event_id,
          user_id: user,
          event_type: heldEvent.event_type,
          concept_id: heldEvent.concept_id,
          event_details: JSON.stringify(heldEvent.event_details),
          occurred_at: Date.parse(heldEvent.timestamp!),
          recorded_at: Date.now(),
        })
        .returning<Array<{ seq: number | string }>>('seq');
      heldEvent.seq = Number(seq);
      await held.commit();
    } catch (err) {
      await held.rollback().catch(() => undefined);
      throw err;
    }
    expect(heldEvent.seq).toBeGreaterThan(Math.max(...later.map((e) => e.seq)));

    // The feed's order: the held event first, then the Logger's, whose seqs are lower.
    const end = await feedEnd(stack.logger.url);
    await eventually('the Brain to apply the feed to its end', async () => {
      const stored = await withDatabase(stack.brainEnv.DATABASE_URL!, (db) => db('feed_cursor').first('cursor'));
      return (stored as { cursor: string }).cursor === end;
    });
    expect(parseFeedPosition(end)!.seq).toBe(Math.max(...later.map((e) => e.seq)));
    const all = [...before, ...later, heldEvent];
    expect(await readMastery(stack.brain.url, user)).toEqual(expectedRecords(all, user));
    expect(await metric(stack.brain.url, 'mastery_feed_refolds_total')).toBeGreaterThan(0);
    expect(await recordsOf(stack.brain.url, [user])).toEqual(await cleanRun(stack.logger.url, [user]));
    // A recompute now agrees with what real time built, and has nothing to change.
    expect((await recompute()).body).toMatchObject({ events_processed: 61, concepts_written: 0 });
  } finally {
    await loggerDb.destroy();
    await stack.stop();
  }
});
