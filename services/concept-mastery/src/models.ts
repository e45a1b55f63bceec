// The mastery models this service runs. A model is a module of its own: the pure model (state,
// apply, record fields) and whatever it brings besides (routes, background work). Every event is
// folded into every model's records; adding a model is one line in MODEL_MODULES.
import type Router from '@koa/router';
import type { Auth, Knex, Logger } from '@learning-analytics/common';
import type { Registry } from 'prom-client';
import type { AnyMasteryModel } from './domain/mastery-model.js';
import type { LearningEventsClient } from './clients/learning-events-client.js';
import type { MasteryReads } from './data/mastery-reads.js';
import { passRatioModule } from './domain/pass-ratio-model.js';
import { bktModule } from './bkt/bkt-module.js';

export interface ModelContext {
  /** Every environment variable: a model validates its own. */
  env: NodeJS.ProcessEnv;
  passScore: number;
  db: Knex;
  auth: Auth;
  logger: Logger;
  registry: Registry;
  client: Pick<LearningEventsClient, 'readFeed'>;
  reads: Pick<MasteryReads, 'invalidate'>;
}

export interface ModelParts {
  model: AnyMasteryModel;
  routers?: Router[];
  /** The routers' paths and schemas, for the OpenAPI document. */
  openapi?: { paths: Record<string, object>; schemas: Record<string, object> };
  /** Started once the service listens; stopped before the database closes. */
  start?(): void;
  stop?(): Promise<void>;
}

export interface ModelModule {
  name: string;
  create(context: ModelContext): Promise<ModelParts>;
}

export const MODEL_MODULES: readonly ModelModule[] = [passRatioModule, bktModule];

export const MODEL_NAMES = MODEL_MODULES.map((module) => module.name);
