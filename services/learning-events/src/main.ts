// Process entry: config -> database + migrations -> listen -> graceful shutdown on signals.
import { readFileSync } from 'node:fs';
import {
  ServiceState,
  createLogger,
  createMetrics,
  migrateToLatest,
  openDatabase,
  serve,
} from '@learning-analytics/common';
import { shutdownTelemetry } from '@learning-analytics/common/instrumentation';
import { loadConfig } from './config.js';
import { createLoggerMetrics } from './metrics.js';
import { EventWriter } from './data/event-writer.js';
import { createApp } from './app.js';
import { migrations } from '../migrations/index.js';

const SERVICE = 'learning-events';
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(`${SERVICE}: ${(err as Error).message}`);
  process.exit(2);
}
const logger = createLogger({ level: config.LOG_LEVEL, service: SERVICE });
const db = openDatabase(config.DATABASE_URL);
const applied = await migrateToLatest(db, migrations);
logger.info({ applied }, 'migrations current');

const serviceMetrics = createMetrics();
const metrics = { ...serviceMetrics, ...createLoggerMetrics(serviceMetrics.registry) };
const writer = new EventWriter(db, metrics);
const state = new ServiceState();
const app = createApp({ db, config, logger, metrics, writer, state, version });

process.on('uncaughtException', (err) => {
  logger.fatal({ err }, 'uncaught exception');
  process.exit(1);
});

await serve({
  app,
  port: config.PORT,
  host: config.HOST,
  logger,
  state,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
  async close() {
    await writer.close();
    await db.destroy();
  },
  flushTelemetry: shutdownTelemetry,
});
