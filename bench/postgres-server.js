// The bench's PostgreSQL server, for --postgres: one throwaway server (test-support/postgres.ts:
// initdb into a temp dir, 127.0.0.1 at a random port, the harness's settings), started once per
// bench run and stopped at its end; should the bench die first, the harness's watchdog shuts it
// down and removes its dir. Also what the report says of it: the version and the settings that
// decide what a commit costs.
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { startPostgres } from '../test-support/postgres.ts';

/** What an acknowledged commit waits for (fsync, synchronous_commit...) and how much is cached. */
const REPORTED_SETTINGS = [
  'fsync',
  'synchronous_commit',
  'wal_sync_method',
  'full_page_writes',
  'commit_delay',
  'wal_level',
  'shared_buffers',
  'wal_buffers',
  'max_wal_size',
  'checkpoint_timeout',
  'max_connections',
];

/**
 * Starts the server; returns { about, createDatabase(name) -> URL, dropDatabase(name),
 * checkpoint(), stop() }. Databases are made by name, so the report and the server's log say
 * which is whose.
 */
export async function startBenchPostgres() {
  const server = await startPostgres();
  const admin = new pg.Client({ connectionString: server.url('postgres') });
  // An error after connect (the server going away at the end) must not become an uncaught 'error' event.
  admin.on('error', () => {});
  try {
    await admin.connect();
    const about = await describe(admin, server.dir);
    return {
      about,
      createDatabase: (name) => server.createDatabase(name),
      dropDatabase: async (name) => void (await admin.query(`drop database ${admin.escapeIdentifier(name)}`)),
      // Between runs, so that no run inherits the dirty pages and the WAL of the one before it.
      checkpoint: async () => void (await admin.query('checkpoint')),
      stop: async () => {
        await admin.end().catch(() => {});
        await server.stop();
      },
    };
  } catch (err) {
    await admin.end().catch(() => {});
    await server.stop();
    throw err;
  }
}

async function describe(admin, dir) {
  const [{ version }] = (await admin.query("select current_setting('server_version') as version")).rows;
  // As SHOW prints them: with their units (shared_buffers 32MB, checkpoint_timeout 5min).
  const { rows } = await admin.query('select name, current_setting(name) as value from unnest($1::text[]) as name', [REPORTED_SETTINGS]);
  return {
    version: `PostgreSQL ${version}`,
    settings: Object.fromEntries(rows.map((r) => [r.name, r.value])),
    data_filesystem: filesystemOf(dir),
  };
}

/** The file system the cluster lives on (its fsync is what a commit waits for), e.g. "ext4 /dev/vda". */
function filesystemOf(dir) {
  try {
    return execFileSync('findmnt', ['-n', '-o', 'FSTYPE,SOURCE', '--target', dir], { encoding: 'utf8' }).trim().replace(/\s+/g, ' ');
  } catch {
    return 'unknown';
  }
}

/** One line for the progress output. */
export const describeServer = ({ version, settings, data_filesystem: fs }) =>
  `${version}: fsync ${settings.fsync}, synchronous_commit ${settings.synchronous_commit}, ` +
  `wal_sync_method ${settings.wal_sync_method}, shared_buffers ${settings.shared_buffers}, data on ${fs}`;
