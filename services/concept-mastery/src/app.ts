// createApp: the Concept Mastery Service's Koa app over the dependencies it is given. Never listens.
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
import type { MasteryMetrics } from './metrics.js';
import type Router from '@koa/router';
import type { AnyMasteryModel } from './domain/mastery-model.js';
import type { LearningEventsClient } from './clients/learning-events-client.js';
import type { MasteryReads } from './data/mastery-reads.js';
import { masteryRouter } from './api/mastery-routes.js';
import { conceptMasteryOpenApi } from './api/openapi.js';
import { migrations } from '../migrations/index.js';

export interface AppDeps {
  db: Knex;
  auth: Auth;
  reads: MasteryReads;
  config: Config;
  logger: Logger;
  metrics: ServiceMetrics & MasteryMetrics;
  /** The registered models, the default one first. */
  models: readonly AnyMasteryModel[];
  /** Routes the models bring (e.g. fitting), and their part of the OpenAPI document. */
  modelRouters: Router[];
  modelApis: Array<{ paths: Record<string, object>; schemas: Record<string, object> }>;
  client: LearningEventsClient;
  state: ServiceState;
  version: string;
}

export function createApp(deps: AppDeps): Koa {
  return createServiceApp({
    title: 'Concept Mastery Service',
    logger: deps.logger,
    metrics: deps.metrics,
    state: deps.state,
    openapi: conceptMasteryOpenApi(deps.version, deps.config.PASS_SCORE, deps.models, deps.modelApis),
    routers: [
      masteryRouter({
        ...deps,
        recompute: { concurrency: deps.config.RECOMPUTE_CONCURRENCY, deadlineMs: deps.config.RECOMPUTE_DEADLINE_MS },
      }),
      ...deps.modelRouters,
    ],
    // Readiness is about this service's own database; the Logger being down degrades recompute
    // (503) and delays real time, but reads keep working.
    async checkReady() {
      const pending = await pendingMigrations(deps.db, migrations);
      if (pending.length > 0) throw new Error(`pending migrations: ${pending.join(', ')}`);
    },
  });
}
