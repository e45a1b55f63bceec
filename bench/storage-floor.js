// The storage floor: how fast SQLite alone stores events on this machine, with the Logger's schema
// (its own migrations), pragmas (WAL, synchronous=FULL), insert statement and v7 event ids, but
// through one prepared statement of the driver, with no HTTP, no knex and no threads. Whatever the
// Logger does on top of this costs throughput, as with the bare-http ceiling.
import Database from 'better-sqlite3';
import { openDatabase, migrateToLatest, SQLITE_PRAGMAS } from '../services/common/dist/index.js';
import { migrations } from '../services/learning-events/dist/migrations/index.js';
import { timeOrderedUuid } from '../services/learning-events/dist/src/domain/events.js';
import { insertEventsSql } from '../services/learning-events/dist/src/data/event-store.js';
import { tempDir } from './processes.js';

/**
 * Commits groups of `eventsPerCommit` events for `seconds` on a new database and returns events/s.
 * `eventOf(i, now)` gives the row values of the i-th event of a group.
 */
export async function storageFloor({ eventsPerCommit, seconds, eventOf }) {
  const dir = tempDir();
  const knex = openDatabase(`sqlite:${dir.path}/floor.db`);
  await migrateToLatest(knex, migrations);
  await knex.destroy();
  const db = new Database(`${dir.path}/floor.db`);
  try {
    for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
    const insert = db.prepare(insertEventsSql(eventsPerCommit));
    const commit = db.transaction((values) => insert.all(values));
    let stored = 0;
    const started = performance.now();
    while (performance.now() - started < seconds * 1000) {
      const now = Date.now();
      const values = [];
      for (let i = 0; i < eventsPerCommit; i += 1) values.push(...eventOf(i, now));
      stored += commit(values).length;
    }
    return stored / ((performance.now() - started) / 1000);
  } finally {
    db.close();
    dir.remove();
  }
}

/** One event as the row values the Logger stores for it. */
export function eventValues({ user_id, event_type, concept_id, event_details }, now) {
  return [timeOrderedUuid(now), user_id, event_type, concept_id, JSON.stringify(event_details), now, now];
}
