// Scheduled backups (BACKUP_DIR), taken by the running Logger itself while batches arrive: the
// newest BACKUP_KEEP kept, their metrics, and the newest restored the way the README tells an
// operator to: every batch acknowledged before that backup began is there, whole. SIGTERM waits
// for a backup being written. A directory the Logger cannot write to is logged and counted, and the
// Logger goes on serving. Bad settings stop the start.
import { copyFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { basename, join } from 'node:path';
import { request } from '../../../test-support/http.js';
import { eventually, metric, metricReaches } from '../../../test-support/polling.js';
import { makeTempDir, runServiceScript } from '../../../test-support/service-process.js';
import { allStoredEvents, quiz, startLogger, type LoggerUnderTest } from './support.js';

const backupName = /^learning-events-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2}\.\d{3})Z\.db$/;

/** When the backup in file `name` began, from its name. */
const startedAt = (name: string) => Date.parse(name.replace(backupName, '$1-$2-$3T$4:$5:$6Z'));

const logLines = (logger: LoggerUnderTest, msg: string) => logger.service.output.map((l) => JSON.parse(l)).filter((l) => l.msg === msg);

describe('scheduled backups while batches arrive', () => {
  const backups = makeTempDir('scheduled-backups-');
  const backupDir = backups.path;
  let logger: LoggerUnderTest;
  beforeAll(async () => {
    logger = await startLogger({ BACKUP_DIR: backupDir, BACKUP_INTERVAL_SECONDS: '1', BACKUP_KEEP: '2' });
  });
  afterAll(async () => {
    await logger.stop();
    backups.remove();
  });

  test('the newest BACKUP_KEEP are kept, and the newest restores every batch acknowledged before it began', async () => {
    // Backups began at start-up, before the Logger listened: count those taken while batches arrive.
    const earlier = logLines(logger, 'backup written').length;
    const acknowledged: Array<{ user: string; at: number }> = [];
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing; n += 1) {
        const user = `batch-${n}`;
        const res = await request(`${logger.url}/events/batch`, { json: Array.from({ length: 50 }, (_, i) => quiz(user, `c${i % 4}`)) });
        expect(res.status).toBe(201);
        acknowledged.push({ user, at: Date.now() });
      }
    })();
    await eventually('two backup files', () => readdirSync(backupDir).filter((name) => backupName.test(name)).length >= 2);
    await eventually('three backups written while batches arrive', () => logLines(logger, 'backup written').length >= earlier + 3);
    writing = false;
    await writer;

    const metrics = (await request<string>(`${logger.url}/metrics`)).body;
    expect(metrics).toContain('backup_failures_total 0');
    expect(await metric(logger.url, 'backup_duration_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(await logger.service.kill('SIGTERM')).toBe(0); // after the backup in progress, if any, is done

    // Only whole backups, and only the newest two of all those written.
    const written = logLines(logger, 'backup written').map((line) => basename(line.backup as string));
    const kept = readdirSync(backupDir).sort();
    expect(kept).toEqual(written.slice(-2));
    expect(kept.every((name) => backupName.test(name))).toBe(true);
    expect(logLines(logger, 'old backups removed').length).toBeGreaterThanOrEqual(1);
    const newest = kept.at(-1)!;

    const databaseFile = logger.databaseUrl.replace(/^sqlite:/, '');
    copyFileSync(join(backupDir, newest), databaseFile);
    rmSync(`${databaseFile}-wal`, { force: true });
    rmSync(`${databaseFile}-shm`, { force: true });
    await logger.restart({ BACKUP_INTERVAL_SECONDS: '3600' });

    const restored = new Map<string, number>();
    for (const event of await allStoredEvents(logger.url)) restored.set(event.user_id, (restored.get(event.user_id) ?? 0) + 1);
    const before = acknowledged.filter(({ at }) => at < startedAt(newest));
    expect(before.length).toBeGreaterThan(0);
    for (const { user } of before) expect(restored.get(user)).toBe(50);
    // One consistent state: the first batches in the order they were acknowledged, each whole.
    expect([...restored.keys()]).toEqual(acknowledged.slice(0, restored.size).map(({ user }) => user));
    expect([...restored.values()].every((count) => count === 50)).toBe(true);

    // A restart reports the newest backup on the volume, not "none yet".
    await metricReaches(logger.url, 'backup_last_success_timestamp_seconds', '===', startedAt(newest) / 1000);
    expect((await request(`${logger.url}/events`, { json: quiz('after-restore', 'c') })).status).toBe(201);
  });
});

test('SIGTERM while a backup is being written: the shutdown waits for it, and the backup is whole', async () => {
  const backups = makeTempDir('scheduled-backups-');
  const logger = await startLogger();
  try {
    // Ballast, so that a backup takes long enough to be caught in the middle.
    await logger.service.kill('SIGTERM');
    const db = new Database(logger.databaseUrl.replace(/^sqlite:/, ''));
    db.exec(`create table ballast (bytes blob);
       insert into ballast with recursive n(i) as (select 1 union all select i + 1 from n where i < 16) select randomblob(1048576) from n`);
    db.close();
    await logger.restart({ BACKUP_DIR: backups.path, BACKUP_INTERVAL_SECONDS: '1', BACKUP_KEEP: '1' });

    await eventually('a backup being written', () => readdirSync(backups.path).some((name) => name.endsWith('.db.unfinished')), {
      pollMs: 1,
    });
    expect(await logger.service.kill('SIGTERM')).toBe(0);
    const messages = logger.service.output.map((l) => JSON.parse(l).msg as string);
    expect(messages.lastIndexOf('backup written')).toBeGreaterThan(messages.indexOf('shutting down'));
    expect(messages.indexOf('stopped')).toBeGreaterThan(messages.lastIndexOf('backup written'));

    const [backup, ...others] = readdirSync(backups.path);
    expect(others).toEqual([]);
    expect(backup).toMatch(backupName);
    const copy = new Database(join(backups.path, backup!), { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(copy.prepare('select count(*) as n from ballast').get()).toEqual({ n: 16 });
    copy.close();
  } finally {
    await logger.stop();
    backups.remove();
  }
});

test('a BACKUP_DIR that cannot be written: each failure logged and counted, and the Logger keeps serving', async () => {
  const dir = makeTempDir('scheduled-backup-');
  writeFileSync(join(dir.path, 'a-file'), '');
  const logger = await startLogger({ BACKUP_DIR: join(dir.path, 'a-file', 'backups'), BACKUP_INTERVAL_SECONDS: '1' });
  try {
    await metricReaches(logger.url, 'backup_failures_total', '>=', 2);
    expect(logLines(logger, 'scheduled backup failed')[0]).toMatchObject({ level: 'error', err: { code: 'ENOTDIR' } });
    expect(await metric(logger.url, 'backup_last_success_timestamp_seconds')).toBe(0);
    expect((await request(`${logger.url}/events`, { json: quiz('still-served', 'c') })).status).toBe(201);
    expect((await request(`${logger.url}/ready`)).status).toBe(200);
    expect(await logger.service.kill('SIGTERM')).toBe(0);
  } finally {
    await logger.stop();
    dir.remove();
  }
});

test('BACKUP_DIR empty, as if unset: no scheduled backups and no backup metrics', async () => {
  const logger = await startLogger({ BACKUP_DIR: '', BACKUP_INTERVAL_SECONDS: '1' });
  try {
    await new Promise((r) => setTimeout(r, 1500));
    expect((await request<string>(`${logger.url}/metrics`)).body).not.toContain('backup_');
    expect(logLines(logger, 'scheduled backups on')).toEqual([]);
  } finally {
    await logger.stop();
  }
});

describe('a bad backup setting stops the start (exit 2) and names the variable', () => {
  test.each([
    [{ BACKUP_INTERVAL_SECONDS: '0' }, 'BACKUP_INTERVAL_SECONDS'],
    [{ BACKUP_INTERVAL_SECONDS: '1.5' }, 'BACKUP_INTERVAL_SECONDS'],
    [{ BACKUP_INTERVAL_SECONDS: 'hourly' }, 'BACKUP_INTERVAL_SECONDS'],
    [{ BACKUP_INTERVAL_SECONDS: '604801' }, 'BACKUP_INTERVAL_SECONDS'],
    [{ BACKUP_KEEP: '0' }, 'BACKUP_KEEP'],
    [{ BACKUP_KEEP: 'all' }, 'BACKUP_KEEP'],
    [{ BACKUP_DIR: '/tmp/backups', DATABASE_URL: 'postgres://db/events' }, 'BACKUP_DIR needs an sqlite: DATABASE_URL'],
  ])('%o', async (env, name) => {
    const result = await runServiceScript('learning-events', 'dist/src/main.js', env);
    expect(result.code).toBe(2);
    expect(result.output).toContain(name);
  });
});
