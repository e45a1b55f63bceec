// `npm run backup -- <sqlite:path of a service's database> <backup file>`: a consistent copy of a
// running service's database (SQLite's online backup API), taken beside the service. Restore: stop
// the service, put the backup in the database's place (removing its -wal and -shm files), start it.
import { existsSync } from 'node:fs';
import { backupDatabase } from './db.js';

const usage = 'usage: npm run backup -- sqlite:<database path> <backup file>';

async function main([databaseUrl, destination, ...rest]: string[]): Promise<number> {
  if (!databaseUrl?.startsWith('sqlite:') || !destination || rest.length > 0) {
    console.error(usage);
    return 2;
  }
  if (!existsSync(databaseUrl.slice('sqlite:'.length))) {
    console.error(`no database at ${databaseUrl}`);
    return 2;
  }
  if (existsSync(destination)) {
    console.error(`${destination} exists already; a backup never overwrites a file`);
    return 2;
  }
  const started = Date.now();
  const { pages } = await backupDatabase(databaseUrl, destination);
  console.log(JSON.stringify({ backup: destination, pages, duration_ms: Date.now() - started }));
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
  console.error((err as Error).message);
  return 1;
});
