// The BKT model as a module of the service: its settings, its parameters store, the fits and
// their routes, and the background pass that derives records again after a fit.
import { ConfigError, engineOf, readEnvConfig } from '@learning-analytics/common';
import { BKT_MODEL, createBktModel } from '../domain/bkt-model.js';
import type { ModelContext, ModelParts } from '../models.js';
import { BktParamsStore } from './params-store.js';
import { FitJobs } from './fit-job.js';
import { bktRouter } from './bkt-routes.js';
import { bktPaths, bktSchemas } from './bkt-openapi.js';
import { createBktMetrics } from './bkt-metrics.js';
import { rederiveRecords } from './rederive.js';

/** How often a replica on PostgreSQL looks for parameters another replica put in force. */
const PARAMS_POLL_MS = 5_000;

const settingsSchema = {
  type: 'object',
  properties: {
    BKT_FIT_RESTARTS: { type: 'integer', minimum: 1, maximum: 100, default: 5 },
    BKT_FIT_SEED: { type: 'integer', minimum: 0, maximum: 4294967295, default: 1 },
    BKT_MIN_STUDENTS: { type: 'integer', minimum: 2, maximum: 1000000, default: 20 },
    BKT_MAX_GUESS: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.3 },
    BKT_MAX_SLIP: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.3 },
    BKT_FORGETS: { type: 'boolean', default: false },
    BKT_MASTERY_THRESHOLD: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.95 },
  },
} as const;

interface BktSettings {
  BKT_FIT_RESTARTS: number;
  BKT_FIT_SEED: number;
  BKT_MIN_STUDENTS: number;
  BKT_MAX_GUESS: number;
  BKT_MAX_SLIP: number;
  BKT_FORGETS: boolean;
  BKT_MASTERY_THRESHOLD: number;
}

export const bktModule = {
  name: BKT_MODEL,
  async create(context: ModelContext): Promise<ModelParts> {
    const settings = readEnvConfig<BktSettings>(settingsSchema, context.env);
    if (settings.BKT_MAX_GUESS + settings.BKT_MAX_SLIP >= 1) {
      throw new ConfigError(
        'Invalid configuration: BKT_MAX_GUESS + BKT_MAX_SLIP must be below 1, or a correct answer could lower p_known.',
      );
    }
    const params = new BktParamsStore(context.db);
    await params.load();
    const paramsOf = (conceptId: string) => params.paramsOf(conceptId);
    const model = createBktModel({ passScore: context.passScore, masteryThreshold: settings.BKT_MASTERY_THRESHOLD, paramsOf });
    const metrics = createBktMetrics(context.registry);
    metrics.paramsVersion.set(params.current.version);
    let stopping = false;
    let rederiving: Promise<void> = Promise.resolve();
    const startRederiving = (version: number) => {
      rederiving = rederiving.then(() =>
        rederiveRecords({
          db: context.db,
          model,
          paramsOf,
          version,
          invalidate: (userIds) => context.reads.invalidate(userIds),
          metrics,
          logger: context.logger,
          superseded: () => stopping || params.current.version !== version,
        }).catch((err: unknown) =>
          context.logger.error({ err }, 'deriving BKT records again failed; records are derived again as events come'),
        ),
      );
    };
    const fits = new FitJobs({
      db: context.db,
      client: context.client,
      params,
      settings: {
        restarts: settings.BKT_FIT_RESTARTS,
        seed: settings.BKT_FIT_SEED,
        minStudents: settings.BKT_MIN_STUDENTS,
        maxGuess: settings.BKT_MAX_GUESS,
        maxSlip: settings.BKT_MAX_SLIP,
        fitForget: settings.BKT_FORGETS,
        passScore: context.passScore,
      },
      metrics,
      logger: context.logger,
      onActivated: (version) => {
        metrics.paramsVersion.set(version);
        startRederiving(version);
      },
    });
    await fits.markInterrupted();
    // On PostgreSQL another replica may fit and activate a version: each replica looks for one and
    // then puts it in force and derives its records again, as the fitting replica does.
    const followOtherReplicas = async () => {
      try {
        if (!(await params.load())) return;
        context.logger.info({ version: params.current.version }, 'BKT parameters of another replica put in force');
        metrics.paramsVersion.set(params.current.version);
        startRederiving(params.current.version);
      } catch (err) {
        context.logger.warn({ err }, 'could not look for newer BKT parameters; trying again');
      }
    };
    let following: NodeJS.Timeout | undefined;
    return {
      model,
      routers: [bktRouter({ auth: context.auth, fits, params })],
      openapi: { paths: bktPaths, schemas: bktSchemas },
      start: () => {
        if (params.current.version > 0) startRederiving(params.current.version);
        if (engineOf(context.db) === 'postgres') following = setInterval(() => void followOtherReplicas(), PARAMS_POLL_MS).unref();
      },
      stop: async () => {
        clearInterval(following);
        stopping = true;
        await rederiving;
      },
    };
  },
};
