// Scheduled backups are the Brain's too (they are wired in the start-up both services share): with
// BACKUP_DIR set it writes whole copies of its database there, named after itself. The Logger's
// tests cover the schedule, retention, failures and the restore.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { metricReaches } from '../../../test-support/polling.js';
import { makeTempDir, startService } from '../../../test-support/service-process.js';

const backupName = /^concept-mastery-\d{8}T\d{6}\.\d{3}Z\.db$/;

test('with BACKUP_DIR the Brain writes backups of its database, named concept-mastery-<UTC time>.db', async () => {
  const dir = makeTempDir('concept-mastery-backups-');
  const backups = join(dir.path, 'backups');
  const brain = await startService('concept-mastery', {
    DATABASE_URL: `sqlite:${dir.path}/mastery.db`,
    FEED_CONSUMER_ENABLED: 'false',
    BACKUP_DIR: backups,
    BACKUP_INTERVAL_SECONDS: '1',
  });
  try {
    await metricReaches(brain.url, 'backup_duration_seconds_count', '>=', 1);
    expect(await brain.kill('SIGTERM')).toBe(0);
    const names = readdirSync(backups).sort();
    expect(names.length).toBeGreaterThanOrEqual(1);
    expect(names.filter((name) => !backupName.test(name))).toEqual([]);
    const copy = new Database(join(backups, names.at(-1)!), { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect((copy.prepare('select count(*) as n from knex_migrations').get() as { n: number }).n).toBeGreaterThan(0);
    } finally {
      copy.close();
    }
  } finally {
    await brain.kill();
    dir.remove();
  }
});
