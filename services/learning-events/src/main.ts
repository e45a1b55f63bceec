// Process entry: config -> database + migrations -> listen -> graceful shutdown on signals.
import { PgListener, bootService, databaseEngine, databaseSettings, serve } from '@learning-analytics/common';
import { loadConfig } from './config.js';
import { createLoggerMetrics, registerFeedWaitersGauge } from './metrics.js';
import { EventWriter } from './data/event-writer.js';
import { ReaderPool } from './data/reader-pool.js';
import { createApp } from './app.js';
import { checkTransactionCounter } from './data/event-store.js';
import { migrations } from '../migrations/index.js';
import { COMMIT_CHANNEL } from '../migrations/005_feed_positions.js';

const {
  config,
  logger,
  db,
  auth,
  metrics: serviceMetrics,
  state,
  version,
} = await bootService({
  name: 'learning-events',
  packageJson: new URL('../../package.json', import.meta.url),
  loadConfig,
  migrations,
});
await checkTransactionCounter(db);
const metrics = { ...serviceMetrics, ...createLoggerMetrics(serviceMetrics.registry) };
const writer = await EventWriter.start(databaseSettings(config), metrics, (err) => {
  logger.fatal({ err }, 'the writer thread failed: no event can be stored');
  logger.flush();
  process.exit(1);
});
const reads = await ReaderPool.start(databaseSettings(config), config.READER_THREADS, (err) => {
  logger.fatal({ err }, 'a reader thread failed');
  logger.flush();
  process.exit(1);
});
registerFeedWaitersGauge(serviceMetrics.registry, () => writer.waiting);
// Other replicas' commits wake this one's long polls too; the polls then read the feed as usual.
const commits =
  databaseEngine(config.DATABASE_URL) === 'postgres'
    ? await PgListener.start({
        url: config.DATABASE_URL,
        channel: COMMIT_CHANNEL,
        onNotify: () => writer.releaseWaiters(),
        logger,
        connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
      })
    : undefined;
const app = createApp({ db, auth, config, logger, metrics, writer, reads, state, version });

await serve({
  app,
  config,
  logger,
  state,
  async close() {
    await commits?.close();
    await writer.close();
    await reads.close();
    await db.destroy();
  },
});
