// Scheduled backups of a service's SQLite database into BACKUP_DIR, taken in-process with
// backupDatabase (SQLite's online backup API): one every BACKUP_INTERVAL_SECONDS from start-up,
// never two at once, the newest BACKUP_KEEP kept. A backup is written under a temporary name and
// renamed once complete, so a file named like a backup is always a whole one. A failure is logged
// and counted; the service goes on.
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ConfigError, type ServiceConfig } from './config.js';
import { backupDatabase } from './db.js';

/** Appended to the name of a backup being written; removed by the rename that completes it. */
const unfinishedSuffix = '.unfinished';

export interface BackupSchedule {
  service: string;
  databaseUrl: string;
  directory: string;
  intervalSeconds: number;
  keep: number;
}

export interface ScheduledBackups {
  /** Takes no further backup, and resolves once the one being written (if any) is done. */
  stop(): Promise<void>;
}

/** The schedule a service's configuration asks for; undefined when BACKUP_DIR is unset. */
export function backupSchedule(service: string, config: ServiceConfig): BackupSchedule | undefined {
  if (config.BACKUP_DIR === undefined) return undefined;
  if (!config.DATABASE_URL.startsWith('sqlite:')) {
    throw new ConfigError('Invalid configuration: BACKUP_DIR needs an sqlite: DATABASE_URL (scheduled backups copy an SQLite file).');
  }
  return {
    service,
    databaseUrl: config.DATABASE_URL,
    directory: config.BACKUP_DIR,
    intervalSeconds: config.BACKUP_INTERVAL_SECONDS,
    keep: config.BACKUP_KEEP,
  };
}

/** `<service>-20250102T030405.678Z.db`: UTC, no colons, and names sort as the times do. */
function backupFileName(service: string, startedAt: Date): string {
  return `${service}-${startedAt.toISOString().replace(/[-:]/g, '')}.db`;
}

/** This service's complete backups in `directory`, oldest first, with the time each began. */
async function listBackups(schedule: BackupSchedule): Promise<Array<{ name: string; startedAt: number }>> {
  const pattern = new RegExp(`^${schedule.service}-(\\d{4})(\\d{2})(\\d{2})T(\\d{2})(\\d{2})(\\d{2}\\.\\d{3})Z\\.db$`);
  const backups = [];
  for (const name of (await readdir(schedule.directory)).sort()) {
    const [, year, month, day, hours, minutes, seconds] = pattern.exec(name) ?? [];
    if (year !== undefined) backups.push({ name, startedAt: Date.parse(`${year}-${month}-${day}T${hours}:${minutes}:${seconds}Z`) });
  }
  return backups;
}

function createBackupMetrics(registry: Registry) {
  return {
    lastSuccess: new Gauge({
      name: 'backup_last_success_timestamp_seconds',
      help: 'When the newest complete scheduled backup began (Unix time): it holds every commit made before then. 0: none yet.',
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'backup_duration_seconds',
      help: 'Duration of a successful scheduled backup, until its file is in place.',
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'backup_failures_total',
      help: 'Scheduled backups, or removals of old ones, that failed (each logged at error level); the service kept running.',
      registers: [registry],
    }),
  };
}

type BackupMetrics = ReturnType<typeof createBackupMetrics>;

export function startScheduledBackups(schedule: BackupSchedule, logger: Logger, registry: Registry): ScheduledBackups {
  const metrics = createBackupMetrics(registry);
  const intervalMs = schedule.intervalSeconds * 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const scheduleNext = (delayMs: number) => {
    timer = setTimeout(takeNext, delayMs).unref();
  };
  const takeNext = () => {
    const startedAt = new Date();
    running = takeBackup(schedule, startedAt, logger, metrics).finally(() => {
      running = undefined;
      // Backups stay at start-up plus whole intervals: a time that passed while this one ran is skipped.
      if (!stopped) scheduleNext(intervalMs - ((Date.now() - startedAt.getTime()) % intervalMs));
    });
  };

  // A restart does not make the last backup look older than it is, and a killed process's
  // unfinished file does not stay on the volume. A directory that cannot be read here is reported
  // by the first backup.
  void listBackups(schedule).then(
    (backups) => metrics.lastSuccess.set((backups.at(-1)?.startedAt ?? 0) / 1000),
    () => undefined,
  );
  void removeUnfinished(schedule).catch(() => undefined);
  scheduleNext(intervalMs);
  logger.info({ backup_dir: schedule.directory, interval_seconds: schedule.intervalSeconds, keep: schedule.keep }, 'scheduled backups on');

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

async function takeBackup(schedule: BackupSchedule, startedAt: Date, logger: Logger, metrics: BackupMetrics): Promise<void> {
  const file = join(schedule.directory, backupFileName(schedule.service, startedAt));
  const unfinished = `${file}${unfinishedSuffix}`;
  try {
    await mkdir(schedule.directory, { recursive: true });
    const { pages } = await backupDatabase(schedule.databaseUrl, unfinished);
    await rename(unfinished, file);
    await syncDirectory(schedule.directory);
    const seconds = (Date.now() - startedAt.getTime()) / 1000;
    metrics.duration.observe(seconds);
    metrics.lastSuccess.set(startedAt.getTime() / 1000);
    logger.info({ backup: file, pages, duration_ms: Math.round(seconds * 1000) }, 'backup written');
  } catch (err) {
    metrics.failures.inc();
    logger.error({ err, backup: file }, 'scheduled backup failed');
    await rm(unfinished, { force: true }).catch(() => undefined);
    return;
  }
  try {
    const removed = await removeOldBackups(schedule);
    if (removed.length > 0) logger.info({ removed }, 'old backups removed');
  } catch (err) {
    metrics.failures.inc();
    logger.error({ err }, 'old backups could not be removed');
  }
}

async function removeOldBackups(schedule: BackupSchedule): Promise<string[]> {
  const backups = await listBackups(schedule);
  const old = backups.slice(0, Math.max(0, backups.length - schedule.keep)).map(({ name }) => name);
  // A backup is a WAL-mode database: one opened where it lies gets -wal and -shm files beside it.
  for (const name of old) {
    for (const file of [name, `${name}-wal`, `${name}-shm`]) await rm(join(schedule.directory, file), { force: true });
  }
  return old;
}

/** Files of a backup that never completed, its SQLite journal included. */
async function removeUnfinished(schedule: BackupSchedule): Promise<void> {
  for (const name of await readdir(schedule.directory)) {
    if (name.startsWith(`${schedule.service}-`) && name.includes(`.db${unfinishedSuffix}`)) {
      await rm(join(schedule.directory, name), { force: true });
    }
  }
}

/** A rename survives a power loss only once the directory holding it is on disk. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
