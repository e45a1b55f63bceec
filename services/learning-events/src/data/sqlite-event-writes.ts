// The writer thread's statements on SQLite, through the driver's own prepared statements: knex
// would build and prepare each multi-row insert anew, which costs about as much writer time as
// SQLite's own work for a 1,000-event commit. Knex keeps the schema, migrations and every read.
import { openSqliteConnection, type SqliteConnection } from '@learning-analytics/common';
import type { EventValues, StoredEvent } from '../domain/events.js';
import { ROWS_PER_INSERT, eventFromRow, findEventsSql, insertEventsSql, type EventRow } from './event-store.js';
import type { EventWrites } from './group-commit.js';

/** Ids per `IN (...)` lookup. */
const LOOKUP_CHUNK = 1000;
/**
 * Rows (or ids) of all the statements kept prepared, per kind, least recently used dropped first.
 * Single events arrive in groups of 1 to a few dozen and batches often of 1,000, so a few sizes
 * come back all the time; a prepared statement costs memory in proportion to its rows (close to
 * 1 KiB a row for the insert), and batches of every size must not hold one each.
 */
const PREPARED_ROWS_BUDGET = 8000;

type Statement = ReturnType<SqliteConnection['prepare']>;

export function openSqliteEventWrites(databaseUrl: string): EventWrites {
  const connection = openSqliteConnection(databaseUrl);
  const begin = connection.prepare('begin immediate');
  const commit = connection.prepare('commit');
  const rollback = connection.prepare('rollback');
  const deleteEvents = connection.prepare('delete from events where user_id = ?');
  // AUTOINCREMENT keeps the highest seq ever handed out in sqlite_sequence; a marker takes the next
  // one and moves it on, so the events after it number above it.
  const lastSeq = connection.prepare("select seq from sqlite_sequence where name = 'events'");
  const insertErasure = connection.prepare('insert into erasures (seq, user_id_sha256, events_deleted, erased_at) values (?, ?, ?, ?)');
  const moveSequence = connection.prepare("update sqlite_sequence set seq = ? where name = 'events'");
  const writeProbe = connection.prepare(
    'insert into write_probe (id, written_at) values (1, ?) on conflict (id) do update set written_at = excluded.written_at',
  );
  const inserts = new Map<number, Statement>();
  const lookups = new Map<number, Statement>();

  const prepared = (cache: Map<number, Statement>, size: number, sql: (size: number) => string) => {
    let statement = cache.get(size);
    if (statement) {
      // Re-inserted, so the map's order is least recently used first.
      cache.delete(size);
    } else {
      statement = connection.prepare(sql(size));
      let rows = size;
      for (const cached of cache.keys()) rows += cached;
      for (const oldest of cache.keys()) {
        if (rows <= PREPARED_ROWS_BUDGET) break;
        cache.delete(oldest);
        rows -= oldest;
      }
    }
    cache.set(size, statement);
    return statement;
  };

  return {
    async transaction(work) {
      begin.run();
      try {
        const result = await work();
        commit.run();
        return result;
      } catch (err) {
        if (connection.inTransaction) rollback.run();
        throw err;
      }
    },

    findEventsByIds(eventIds) {
      const found = new Map<string, StoredEvent>();
      for (let i = 0; i < eventIds.length; i += LOOKUP_CHUNK) {
        const chunk = eventIds.slice(i, i + LOOKUP_CHUNK);
        const rows = prepared(lookups, chunk.length, findEventsSql).all(chunk) as EventRow[];
        for (const row of rows) found.set(row.event_id, eventFromRow(row));
      }
      return Promise.resolve(found);
    },

    insertEvents(events: EventValues[]) {
      const seqs = new Map<string, number>();
      for (let i = 0; i < events.length; i += ROWS_PER_INSERT) {
        const chunk = events.slice(i, i + ROWS_PER_INSERT);
        const bindings: Array<string | number> = [];
        // A plain loop: Array.prototype.flat takes several times longer for a thousand rows.
        for (const row of chunk) for (const value of row) bindings.push(value);
        const rows = prepared(inserts, chunk.length, insertEventsSql).all(bindings) as Array<Pick<EventRow, 'seq' | 'event_id'>>;
        for (const row of rows) seqs.set(row.event_id, Number(row.seq));
      }
      return Promise.resolve(seqs);
    },

    deleteEventsOf(userId) {
      return Promise.resolve(deleteEvents.run(userId).changes);
    },

    insertErasure({ userIdSha256, eventsDeleted, erasedAt }) {
      // Called only after events were deleted, so the sequence has a row.
      const seq = Number((lastSeq.get() as { seq: number }).seq) + 1;
      insertErasure.run(seq, userIdSha256, eventsDeleted, erasedAt);
      moveSequence.run(seq);
      return Promise.resolve(seq);
    },

    probeWrite(now) {
      writeProbe.run(now);
      return Promise.resolve();
    },

    purgeDeletedCopies() {
      // As purgeDeletedCopies in db.ts, on this connection.
      connection.pragma('wal_checkpoint(TRUNCATE)');
      return Promise.resolve();
    },

    close() {
      connection.close();
      return Promise.resolve();
    },
  };
}
