// The writer thread's statements on PostgreSQL, through knex. Each statement runs on the current
// transaction while one is open, else on its own (one INSERT is atomic and durable by itself).
import type { Knex } from '@learning-analytics/common';
import type { EventValues, StoredEvent } from '../domain/events.js';
import { ROWS_PER_INSERT, eventFromRow, findEventsSql, insertEventsSql, type EventRow } from './event-store.js';
import type { EventWrites } from './group-commit.js';

/** Ids per `IN (...)` lookup. */
const LOOKUP_CHUNK = 1000;

export function pgEventWrites(db: Knex): EventWrites {
  let current: Knex | Knex.Transaction = db;
  const rowsOf = async <T>(sql: string, bindings: readonly unknown[]) =>
    (await current.raw<{ rows: T[] }>(sql, bindings as Knex.RawBinding[])).rows;

  return {
    async transaction(work) {
      return db.transaction(async (trx) => {
        current = trx;
        try {
          return await work();
        } finally {
          current = db;
        }
      });
    },

    async findEventsByIds(eventIds) {
      const found = new Map<string, StoredEvent>();
      for (let i = 0; i < eventIds.length; i += LOOKUP_CHUNK) {
        const chunk = eventIds.slice(i, i + LOOKUP_CHUNK);
        for (const row of await rowsOf<EventRow>(findEventsSql(chunk.length), chunk)) found.set(row.event_id, eventFromRow(row));
      }
      return found;
    },

    async insertEvents(events: EventValues[]) {
      const seqs = new Map<string, number>();
      for (let i = 0; i < events.length; i += ROWS_PER_INSERT) {
        const chunk = events.slice(i, i + ROWS_PER_INSERT);
        const rows = await rowsOf<Pick<EventRow, 'seq' | 'event_id'>>(insertEventsSql(chunk.length), chunk.flat());
        for (const row of rows) seqs.set(row.event_id, Number(row.seq));
      }
      return seqs;
    },

    async deleteEventsOf(userId) {
      // Waits for every transaction inserting events to end and keeps new ones out until the
      // erasure commits: then no event of the student commits beside it (it would survive the
      // delete, placed before the marker), and every later one is numbered after the marker.
      await current.raw('lock table events in share row exclusive mode');
      return Number(await current('events').where('user_id', userId).delete());
    },

    async insertErasure({ userIdSha256, eventsDeleted, erasedAt }) {
      // The marker takes the events' sequence's next value, so it sits between the events around it.
      const [{ seq }] = (await rowsOf<{ seq: string }>("select nextval(pg_get_serial_sequence('events', 'seq')) as seq", [])) as [
        { seq: string },
      ];
      await current('erasures').insert({ seq, user_id_sha256: userIdSha256, events_deleted: eventsDeleted, erased_at: erasedAt });
      return Number(seq);
    },

    async probeWrite(now) {
      await current('write_probe').insert({ id: 1, written_at: now }).onConflict('id').merge();
    },

    // Deleted rows stay in their pages until VACUUM reclaims them (autovacuum, or an operator's).
    async purgeDeletedCopies() {},

    close() {
      return db.destroy();
    },
  };
}
