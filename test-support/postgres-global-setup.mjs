// Jest globalSetup of the PostgreSQL test projects: one throwaway server for the whole run
// (test-support/postgres.ts), whose superuser URL goes to the tests in TEST_POSTGRES_URL; each
// test file makes its own databases on it with createDatabase(testPostgresUrl()).
//
// Jest runs a project's globalSetup only when the run has tests of that project, and a file named
// by several projects once, so a run without PostgreSQL tests starts nothing. The workers start
// after this and inherit the variable. A TEST_POSTGRES_URL set before jest starts names a server
// run by someone else (a CI service container): it is used as it is, and nothing is started.
//
// Plain .mjs, so jest imports it natively and Node strips postgres.ts's types.
import { startPostgres } from './postgres.ts';

export const serverKey = Symbol.for('learning-analytics.test-postgres');

export default async function startTestPostgres() {
  if (process.env.TEST_POSTGRES_URL) return;
  const server = await startPostgres();
  // globalTeardown runs in this same process and global scope, and stops what was started here.
  globalThis[serverKey] = server;
  process.env.TEST_POSTGRES_URL = server.url('postgres');
}
