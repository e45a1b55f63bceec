// The database a test's service runs on: an SQLite file in the test's temp dir, or, in the
// PostgreSQL projects of jest.config.js (TEST_DATABASE_ENGINE=postgres), a fresh database on the
// run's throwaway PostgreSQL server. Every contract test runs on both engines this way.
import { openDatabase, type Knex } from '@learning-analytics/common';
import { createDatabase, testPostgresUrl } from './postgres.js';

export type TestEngine = 'sqlite' | 'postgres';

export function testEngine(): TestEngine {
  return process.env.TEST_DATABASE_ENGINE === 'postgres' ? 'postgres' : 'sqlite';
}

/** A new, empty database for one service: `sqlite:<dir>/<name>.db`, or a new PostgreSQL database. */
export async function testDatabaseUrl(dir: string, name: string): Promise<string> {
  return testEngine() === 'postgres' ? createDatabase(testPostgresUrl()) : `sqlite:${dir}/${name}.db`;
}

/** Runs `work` on a knex connection of its own to the database at `url` (a service may be down meanwhile). */
export async function withDatabase<T>(url: string, work: (db: Knex) => Promise<T>): Promise<T> {
  const db = openDatabase(url);
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}
