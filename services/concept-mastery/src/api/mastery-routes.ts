// HTTP in, HTTP out for reading mastery and recomputing it. No SQL here.
import Router from '@koa/router';
import {
  NotFoundError,
  ServiceUnavailableError,
  UpstreamError,
  auditLog,
  compileValidator,
  createAjv,
  purgeDeletedCopies,
  type Auth,
} from '@learning-analytics/common';
import { recomputeUser, type RecomputeDeps } from '../sync/recompute-user.js';
import { deleteUserMasteries } from '../data/mastery-store.js';
import type { MasteryReads } from '../data/mastery-reads.js';
import { masteryQuerySchema, userConceptPathSchema, userPathSchema } from '../schemas.js';

export type MasteryRoutesDeps = RecomputeDeps & {
  auth: Auth;
  reads: MasteryReads;
  recompute: { concurrency: number; deadlineMs: number };
};

/** Seconds a caller refused for too many recomputes at once should wait. */
const RECOMPUTE_RETRY_AFTER_S = 1;

export function masteryRouter(deps: MasteryRoutesDeps): Router {
  const { auth, models } = deps;
  const ajv = createAjv({ coerceTypes: true });
  const validateUserPath = compileValidator<{ user_id: string }>(ajv, userPathSchema, 'path');
  const validateUserConceptPath = compileValidator<{ user_id: string; concept_id: string }>(ajv, userConceptPathSchema, 'path');
  const validateQuery = compileValidator<{ model: string }>(
    ajv,
    masteryQuerySchema(
      models.map((model) => model.name),
      models[0]!.name,
    ),
    'query',
  );
  const router = new Router();

  router.get('/mastery/:user_id', auth.require('mastery:read'), async (ctx) => {
    const { user_id } = validateUserPath(ctx.params);
    const { model } = validateQuery({ ...ctx.query });
    ctx.type = 'application/json';
    ctx.body = await deps.reads.studentJson(user_id, model);
  });

  router.get('/mastery/:user_id/:concept_id', auth.require('mastery:read'), async (ctx) => {
    const { user_id, concept_id } = validateUserConceptPath(ctx.params);
    const { model } = validateQuery({ ...ctx.query });
    const record = await deps.reads.recordJson(user_id, concept_id, model);
    if (record === undefined) throw new NotFoundError(`No ${model} mastery record for student ${user_id} and concept ${concept_id}.`);
    ctx.type = 'application/json';
    ctx.body = record;
  });

  let recomputing = 0;
  router.post('/mastery/recompute/:user_id', auth.require('mastery:recompute'), async (ctx) => {
    const { user_id } = validateUserPath(ctx.params);
    if (recomputing >= deps.recompute.concurrency) {
      throw new ServiceUnavailableError(
        `${deps.recompute.concurrency} recomputes are running already (RECOMPUTE_CONCURRENCY); retry shortly.`,
        RECOMPUTE_RETRY_AFTER_S,
      );
    }
    recomputing += 1;
    const callerGone = new AbortController();
    const onClose = () => {
      if (!ctx.res.writableFinished) callerGone.abort();
    };
    ctx.res.once('close', onClose);
    const deadline = AbortSignal.timeout(deps.recompute.deadlineMs);
    try {
      ctx.body = await recomputeUser(deps, user_id, AbortSignal.any([callerGone.signal, deadline]));
    } catch (err) {
      if (callerGone.signal.aborted) deps.logger.info({ user_id }, 'recompute cancelled: the caller went away; nothing written');
      else if (deadline.aborted) {
        throw new UpstreamError(
          504,
          'upstream_timeout',
          `The recompute did not finish within ${deps.recompute.deadlineMs} ms (RECOMPUTE_DEADLINE_MS); nothing was written.`,
        );
      }
      throw err;
    } finally {
      recomputing -= 1;
      ctx.res.off('close', onClose);
    }
  });

  // Deletes what this service derived, not the events: a recompute afterwards rebuilds it. To
  // erase a student everywhere, DELETE /events/{user_id} on the Logger; its marker reaches here.
  router.delete('/mastery/:user_id', auth.require('admin'), async (ctx) => {
    const { user_id } = validateUserPath(ctx.params);
    const recordsDeleted = await deps.db.transaction((trx) => deleteUserMasteries(trx, user_id));
    if (recordsDeleted > 0) {
      deps.reads.invalidate([user_id]);
      await purgeDeletedCopies(deps.db);
    }
    auditLog(deps.logger, ctx, 'erase_student_mastery', { user_id, records_deleted: recordsDeleted });
    ctx.body = { user_id, records_deleted: recordsDeleted };
  });

  return router;
}
