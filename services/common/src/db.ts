// Opens a service's database through knex and applies its migrations. SQLite runs in WAL mode with
// synchronous=FULL, so a committed transaction is on disk before anyone is told it succeeded.
// A hot path may also open the same file through the driver itself (openSqliteConnection), with
// the same pragmas, to reuse prepared statements that knex would prepare anew for every query.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knex, { type Knex } from 'knex';
import Database from 'better-sqlite3';
import { errorCode, isTransientDatabaseError } from './database-errors.js';

export type { Knex };
export type SqliteConnection = Database.Database;

export interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

/** Applied to every SQLite connection, in this order. */
export const SQLITE_PRAGMAS = [
  'journal_mode = WAL',
  'synchronous = FULL',
  // Statement journals (a multi-row insert needs one) stay in memory instead of a temp file
  // created and deleted on every commit.
  'temp_store = MEMORY',
  // Checkpoint every 8,000 WAL pages (32 MiB at 4 KiB) rather than 1,000: an index page that
  // several commits rewrote is copied back into the database once.
  'wal_autocheckpoint = 8000',
  'busy_timeout = 5000',
  'foreign_keys = ON',
  // Deleted rows are overwritten with zeros, so an erased student's data does not linger in free
  // space of the file.
  'secure_delete = ON',
];

/** The SQLite file a `sqlite:<path>` URL names, resolved against the working directory. */
function sqlitePath(databaseUrl: string): string {
  if (!databaseUrl.startsWith('sqlite:')) throw new Error('this needs an sqlite: DATABASE_URL');
  return resolve(databaseUrl.slice('sqlite:'.length));
}

function applyPragmas(connection: { pragma(sql: string): unknown }): void {
  for (const pragma of SQLITE_PRAGMAS) connection.pragma(pragma);
}

/** A connection of the driver itself to a `sqlite:<path>` database, with the service's pragmas. */
export function openSqliteConnection(databaseUrl: string): SqliteConnection {
  const filename = sqlitePath(databaseUrl);
  mkdirSync(dirname(filename), { recursive: true });
  const connection = new Database(filename);
  applyPragmas(connection);
  return connection;
}

/** How a service reaches its database, from its configuration; only `url` matters on SQLite. */
export interface DatabaseSettings {
  url: string;
  /** PostgreSQL: connections per pool (each thread that talks to the database has its own). */
  poolSize?: number;
  /** PostgreSQL: a statement running longer is cancelled (0: no limit). */
  statementTimeoutMs?: number;
  /** PostgreSQL: how long opening a connection, or waiting for a free one, may take. */
  connectTimeoutMs?: number;
}

export type DatabaseEngine = 'sqlite' | 'postgres';

export function databaseEngine(databaseUrl: string): DatabaseEngine {
  if (databaseUrl.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return 'postgres';
  throw new Error('Unsupported DATABASE_URL scheme: use sqlite:<path> or postgres://...');
}

/** The engine a knex instance talks to. */
export function engineOf(db: Knex): DatabaseEngine {
  return (db.client as { config: { client: string } }).config.client === 'pg' ? 'postgres' : 'sqlite';
}

/** The URL with its password replaced by `***`, fit for a log line. */
export function redactDatabaseUrl(databaseUrl: string): string {
  if (databaseEngine(databaseUrl) === 'sqlite') return databaseUrl;
  const url = new URL(databaseUrl);
  if (url.password !== '') url.password = '***';
  return url.toString();
}

/** Knex over the database; `readonly` opens it for reading only (a reader thread's). */
export function openDatabase(settings: DatabaseSettings | string, { readonly = false } = {}): Knex {
  const {
    url,
    poolSize = 10,
    statementTimeoutMs = 0,
    connectTimeoutMs = 10_000,
  } = typeof settings === 'string' ? { url: settings } : settings;
  if (databaseEngine(url) === 'postgres') {
    return knex({
      client: 'pg',
      // sslmode and the other libpq parameters in the URL are honoured by the driver.
      connection: {
        connectionString: url,
        statement_timeout: statementTimeoutMs,
        connectionTimeoutMillis: connectTimeoutMs,
        application_name: 'learning-analytics',
        ...(readonly ? { options: '-c default_transaction_read_only=on' } : {}),
      },
      pool: { min: 0, max: poolSize },
      acquireConnectionTimeout: connectTimeoutMs,
    });
  }
  const filename = sqlitePath(url);
  if (!readonly) mkdirSync(dirname(filename), { recursive: true });
  return knex({
    client: 'better-sqlite3',
    connection: { filename, options: { readonly } },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate(connection: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
        applyPragmas(connection);
        done(null, connection);
      },
    },
  });
}

/**
 * Copies a live database to `destination` with SQLite's online backup API, while the service keeps
 * reading and writing: the copy is one consistent state (every commit up to a moment), and a
 * commit during the copy makes the API start again from the pages that changed.
 */
export async function backupDatabase(databaseUrl: string, destination: string): Promise<{ pages: number }> {
  const connection = openSqliteConnection(databaseUrl);
  try {
    const { totalPages } = await connection.backup(destination);
    return { pages: totalPages };
  } finally {
    connection.close();
  }
}

/**
 * After deleting personal data: the deleted rows are zeroed in the pages written (secure_delete),
 * but the write-ahead log still holds older copies of those pages until it is checkpointed and
 * truncated, which this does. A read in progress can keep it from truncating; then the next
 * checkpoint finishes the job.
 */
export async function purgeDeletedCopies(db: Knex): Promise<void> {
  // PostgreSQL keeps deleted rows in their pages until VACUUM reclaims them (autovacuum, or an operator's).
  if (engineOf(db) !== 'sqlite') return;
  await db.raw('pragma wal_checkpoint(TRUNCATE)');
}

/** Knex migration source over an ordered, statically imported list: no file-system scanning. */
function migrationSource(migrations: Migration[]): Knex.MigrationSource<Migration> {
  return {
    getMigrations: () => Promise.resolve(migrations),
    getMigrationName: (migration) => migration.name,
    getMigration: (migration) => Promise.resolve(migration),
  };
}

/** How long a replica waits for the others' migrations before it gives up and exits. */
const MIGRATION_WAIT_MS = 60_000;

/**
 * Applies the pending migrations. Several replicas starting at once on one database apply each
 * migration once: knex's migration lock admits one, and a replica that meets the lock held, or
 * loses the race to create knex's own tables, waits a moment and looks again (then usually
 * finds nothing left to do).
 */
export async function migrateToLatest(db: Knex, migrations: Migration[]): Promise<string[]> {
  const giveUpAt = Date.now() + MIGRATION_WAIT_MS;
  for (;;) {
    try {
      const [, applied] = (await db.migrate.latest({ migrationSource: migrationSource(migrations) })) as [number, string[]];
      return applied;
    } catch (err) {
      if (!isMigrationRace(err) || Date.now() > giveUpAt) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
}

/** The migration lock held by another replica, or its CREATE TABLE of knex's tables racing this one's. */
function isMigrationRace(err: unknown): boolean {
  const code = errorCode(err);
  if ((err as Error).name === 'MigrationLocked' || code === '42P07' || code === '23505' || isTransientDatabaseError(err)) return true;
  return code === 'SQLITE_ERROR' && /already exists/.test((err as Error).message);
}

export async function pendingMigrations(db: Knex, migrations: Migration[]): Promise<string[]> {
  const [, pending] = (await db.migrate.list({ migrationSource: migrationSource(migrations) })) as [unknown, Migration[]];
  return pending.map((m) => m.name);
}
