// createApp: the Learning Events Service's Koa app over the dependencies it is given. Never listens.
import {
  createServiceApp,
  pendingMigrations,
  type Auth,
  type Knex,
  type Logger,
  type ServiceMetrics,
  type ServiceState,
} from '@learning-analytics/common';
import type Koa from 'koa';
import type { Config } from './config.js';
import type { LoggerMetrics } from './metrics.js';
import type { EventWriter } from './data/event-writer.js';
import type { ReaderPool } from './data/reader-pool.js';
import { ReadSlots } from './api/read-slots.js';
import { eventsRouter } from './api/events-routes.js';
import { feedRouter } from './api/feed-routes.js';
import { learningEventsOpenApi } from './api/openapi.js';
import { migrations } from '../migrations/index.js';

export interface AppDeps {
  db: Knex;
  auth: Auth;
  config: Config;
  logger: Logger;
  metrics: ServiceMetrics & LoggerMetrics;
  writer: EventWriter;
  reads: ReaderPool;
  state: ServiceState;
  version: string;
}

export function createApp(deps: AppDeps): Koa {
  const routeDeps = { ...deps, readSlots: new ReadSlots(deps.config.MAX_CONCURRENT_READS, deps.metrics) };
  return createServiceApp({
    title: 'Learning Events Service',
    logger: deps.logger,
    metrics: deps.metrics,
    state: deps.state,
    openapi: learningEventsOpenApi(deps.config.eventTypes, deps.version),
    routers: [eventsRouter(routeDeps), feedRouter(routeDeps)],
    async checkReady() {
      const pending = await pendingMigrations(deps.db, migrations);
      if (pending.length > 0) throw new Error(`pending migrations: ${pending.join(', ')}`);
      await deps.writer.checkWritable();
    },
  });
}
