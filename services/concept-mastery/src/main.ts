// Process entry: config -> database + migrations -> listen -> feed consumer -> graceful shutdown.
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
import { createMasteryMetrics } from './metrics.js';
import { createPassRatioModel } from './domain/pass-ratio-model.js';
import { LearningEventsClient } from './clients/learning-events-client.js';
import { FeedConsumer } from './sync/feed-consumer.js';
import { MasteryReads } from './data/mastery-reads.js';
import { createApp } from './app.js';
import { migrations } from '../migrations/index.js';

const SERVICE = 'concept-mastery';
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
const metrics = { ...serviceMetrics, ...createMasteryMetrics(serviceMetrics.registry) };
const model = createPassRatioModel(config.PASS_SCORE);
const reads = new MasteryReads(db, config.MASTERY_CACHE_STUDENTS);
const client = new LearningEventsClient({
  baseUrl: config.LEARNING_EVENTS_URL,
  timeoutMs: config.LEARNING_EVENTS_TIMEOUT_MS,
  deadlineMs: config.LEARNING_EVENTS_DEADLINE_MS,
  retries: config.LEARNING_EVENTS_RETRIES,
  retryBaseMs: config.LEARNING_EVENTS_RETRY_BASE_MS,
  retryMaxMs: config.LEARNING_EVENTS_RETRY_MAX_MS,
  pageSize: config.LEARNING_EVENTS_PAGE_SIZE,
  metrics,
  logger,
});
const consumer = config.FEED_CONSUMER_ENABLED
  ? new FeedConsumer({
      db,
      reads,
      model,
      client,
      metrics,
      logger,
      pageSize: config.FEED_PAGE_SIZE,
      waitMs: config.FEED_WAIT_MS,
      backoffBaseMs: config.LEARNING_EVENTS_RETRY_BASE_MS,
      backoffMaxMs: config.FEED_BACKOFF_MAX_MS,
    })
  : undefined;
const state = new ServiceState();
state.onDrain(() => void consumer?.stop());
const app = createApp({ db, reads, config, logger, metrics, model, client, state, version });

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
    await consumer?.stop();
    await db.destroy();
  },
  flushTelemetry: shutdownTelemetry,
});
consumer?.start();
