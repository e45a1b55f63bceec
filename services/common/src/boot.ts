// The start-up every service shares: configuration (a bad value exits 2, naming the variable),
// logger, database with its migrations applied, metrics registry, readiness state and, when
// BACKUP_DIR is set, scheduled backups (stopped by the graceful shutdown).
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Knex } from 'knex';
import { createLogger } from './logger.js';
import { createMetrics, type ServiceMetrics } from './metrics.js';
import { createAuth, type Auth } from './auth.js';
import { migrateToLatest, openDatabase, redactDatabaseUrl, type Migration } from './db.js';
import { ServiceState } from './app.js';
import { databaseSettings, type ServiceConfig } from './config.js';
import { backupSchedule, startScheduledBackups, type BackupSchedule } from './scheduled-backup.js';

export interface BootedService<C extends ServiceConfig> {
  config: C;
  logger: Logger;
  db: Knex;
  auth: Auth;
  metrics: ServiceMetrics;
  state: ServiceState;
  version: string;
}

export async function bootService<C extends ServiceConfig>(spec: {
  name: string;
  /** The service's package.json, whose version the OpenAPI document reports. */
  packageJson: URL;
  loadConfig: () => C;
  migrations: Migration[];
}): Promise<BootedService<C>> {
  let config: C;
  let schedule: BackupSchedule | undefined;
  try {
    config = spec.loadConfig();
    schedule = backupSchedule(spec.name, config);
  } catch (err) {
    console.error(`${spec.name}: ${(err as Error).message}`);
    process.exit(2);
  }
  const logger = createLogger({
    level: config.LOG_LEVEL,
    service: spec.name,
    studentIds: { mode: config.LOG_STUDENT_IDS, key: config.LOG_PSEUDONYM_KEY },
  });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  // Node exits on an unhandled rejection only while nothing listens for them, and libraries may
  // listen: say it here, so a forgotten promise always ends the process visibly.
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection');
    process.exit(1);
  });
  const metrics = createMetrics();
  let auth: Auth;
  try {
    auth = createAuth({ service: spec.name, config, logger, registry: metrics.registry });
  } catch (err) {
    console.error(`${spec.name}: ${(err as Error).message}`);
    process.exit(2);
  }
  const db = openDatabase(databaseSettings(config));
  const applied = await migrateToLatest(db, spec.migrations);
  logger.info({ applied, database: redactDatabaseUrl(config.DATABASE_URL) }, 'migrations current');
  const state = new ServiceState();
  if (schedule) {
    const backups = startScheduledBackups(schedule, logger, metrics.registry);
    state.onShutdown(() => backups.stop());
  }
  const { version } = JSON.parse(readFileSync(spec.packageJson, 'utf8')) as { version: string };
  return { config, logger, db, auth, metrics, state, version };
}

/** `npm run migrate`: applies pending migrations to the database and exits. */
export async function runMigrations(databaseUrl: string, migrations: Migration[]): Promise<void> {
  const db = openDatabase(databaseUrl);
  try {
    const applied = await migrateToLatest(db, migrations);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'already up to date');
  } finally {
    await db.destroy();
  }
}
