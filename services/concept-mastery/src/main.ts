// Process entry: config -> database + migrations -> listen -> feed consumer -> graceful shutdown.
import { ConfigError, bootService, databaseSettings, serve } from '@learning-analytics/common';
import { loadConfig } from './config.js';
import { createMasteryMetrics } from './metrics.js';
import { MODEL_MODULES } from './models.js';
import { LearningEventsClient } from './clients/learning-events-client.js';
import { learningEventsAuthorization } from './clients/learning-events-credential.js';
import { FeedConsumer } from './sync/feed-consumer.js';
import { MasteryReads } from './data/mastery-reads.js';
import { consumerLeases } from './data/consumer-lease.js';
import { createApp } from './app.js';
import { migrations } from '../migrations/index.js';

const {
  config,
  logger,
  db,
  auth,
  metrics: serviceMetrics,
  state,
  version,
} = await bootService({
  name: 'concept-mastery',
  packageJson: new URL('../../package.json', import.meta.url),
  loadConfig,
  migrations,
});
const metrics = { ...serviceMetrics, ...createMasteryMetrics(serviceMetrics.registry) };
const reads = new MasteryReads(db, config.MASTERY_CACHE_STUDENTS);
let authorization;
try {
  authorization = learningEventsAuthorization(config);
} catch (err) {
  console.error(`concept-mastery: LEARNING_EVENTS_TOKEN_FILE: ${(err as Error).message}`);
  process.exit(2);
}
const client = new LearningEventsClient({
  baseUrl: config.LEARNING_EVENTS_URL,
  timeoutMs: config.LEARNING_EVENTS_TIMEOUT_MS,
  deadlineMs: config.LEARNING_EVENTS_DEADLINE_MS,
  retries: config.LEARNING_EVENTS_RETRIES,
  retryBaseMs: config.LEARNING_EVENTS_RETRY_BASE_MS,
  retryMaxMs: config.LEARNING_EVENTS_RETRY_MAX_MS,
  pageSize: config.LEARNING_EVENTS_PAGE_SIZE,
  authorization,
  metrics,
  logger,
});
const context = { env: process.env, passScore: config.PASS_SCORE, db, auth, logger, registry: serviceMetrics.registry, client, reads };
let parts;
try {
  parts = await Promise.all(MODEL_MODULES.map((module) => module.create(context)));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`concept-mastery: ${err.message}`);
  process.exit(2);
}
// The default model first: recompute summaries report on it.
parts.sort((a, b) => Number(b.model.name === config.MASTERY_DEFAULT_MODEL) - Number(a.model.name === config.MASTERY_DEFAULT_MODEL));
const models = parts.map((part) => part.model);
const leases = config.FEED_CONSUMER_ENABLED ? consumerLeases(db, databaseSettings(config), logger) : undefined;
const consumer = leases
  ? new FeedConsumer({
      db,
      leases,
      reads,
      models,
      client,
      metrics,
      logger,
      pageSize: config.FEED_PAGE_SIZE,
      waitMs: config.FEED_WAIT_MS,
      backoffBaseMs: config.LEARNING_EVENTS_RETRY_BASE_MS,
      backoffMaxMs: config.FEED_BACKOFF_MAX_MS,
    })
  : undefined;
state.onDrain(() => void consumer?.stop());
const modelRouters = parts.flatMap((part) => part.routers ?? []);
const modelApis = parts.flatMap((part) => (part.openapi ? [part.openapi] : []));
const app = createApp({ db, auth, reads, config, logger, metrics, models, modelRouters, modelApis, client, state, version });

await serve({
  app,
  config,
  logger,
  state,
  async close() {
    await consumer?.stop();
    await leases?.close();
    for (const part of parts) await part.stop?.();
    await db.destroy();
  },
});
consumer?.start();
for (const part of parts) part.start?.();
