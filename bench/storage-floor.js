// The storage floor: how fast SQLite alone stores events on this machine, with the Logger's schema
// (its own migrations), pragmas (WAL, synchronous=FULL), insert statement and v7 event ids, but
// through one prepared statement of the driver, with no HTTP, no knex and no threads. Whatever the
// Logger does on top of this costs throughput, as with the bare-http ceiling.
//
// On PostgreSQL (pgStorageFloor), the same: the Logger's migrations and insert statement on a new
// database of the bench's server, one named (prepared) statement of the `pg` driver on one
// connection, the server's default synchronous_commit (on).
import Database from 'better-sqlite3';
import pg from 'pg';
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
    return await eventsPerSecond({ eventsPerCommit, seconds, eventOf }, async (values) => commit(values).length);
  } finally {
    db.close();
    dir.remove();
  }
}

let floorDatabases = 0;

/**
 * The same on PostgreSQL: commits of `eventsPerCommit` events for `seconds` on a new database of
 * `postgres` (see postgres-server.js), dropped afterwards; returns events/s. Each commit is one
 * INSERT of them all, on its own, as the Logger's writer sends a group of new events (no BEGIN and
 * COMMIT around one statement: it is a transaction by itself).
 */
export async function pgStorageFloor({ postgres, eventsPerCommit, seconds, eventOf }) {
  const name = `storage_floor_${(floorDatabases += 1)}`;
  const url = await postgres.createDatabase(name);
  try {
    const knex = openDatabase(url);
    try {
      await migrateToLatest(knex, migrations);
    } finally {
      await knex.destroy();
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // knex turns the `?` placeholders into `$1, $2...` for pg; so does this. A named statement is
      // parsed and planned once per connection, like the SQLite floor's prepared statement.
      let n = 0;
      const insert = {
        name: `insert-${eventsPerCommit}-events`,
        text: insertEventsSql(eventsPerCommit).replace(/\?/g, () => `$${(n += 1)}`),
      };
      return await eventsPerSecond(
        { eventsPerCommit, seconds, eventOf },
        async (values) => (await client.query({ ...insert, values })).rowCount,
      );
    } finally {
      await client.end();
    }
  } finally {
    await postgres.dropDatabase(name);
  }
}

/** Commits groups of events with `commit(values)` (which returns how many it stored) for `seconds`; returns events/s. */
async function eventsPerSecond({ eventsPerCommit, seconds, eventOf }, commit) {
  let stored = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const now = Date.now();
    const values = [];
    for (let i = 0; i < eventsPerCommit; i += 1) values.push(...eventOf(i, now));
    stored += await commit(values);
  }
  return stored / ((performance.now() - started) / 1000);
}

/** One event as the row values the Logger stores for it. */
export function eventValues({ user_id, event_type, concept_id, event_details }, now) {
  return [timeOrderedUuid(now), user_id, event_type, concept_id, JSON.stringify(event_details), now, now];
}
