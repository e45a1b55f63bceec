// HTTP in, HTTP out for reading mastery and recomputing it. No SQL here.
import Router from '@koa/router';
import { NotFoundError, compileValidator, createAjv } from '@learning-analytics/common';
import { recomputeUser, type RecomputeDeps } from '../sync/recompute-user.js';
import { userConceptPathSchema, userPathSchema } from '../schemas.js';

export type MasteryRoutesDeps<S> = RecomputeDeps<S>;

export function masteryRouter<S>(deps: MasteryRoutesDeps<S>): Router {
  const ajv = createAjv({ coerceTypes: true });
  const validateUserPath = compileValidator<{ user_id: string }>(ajv, userPathSchema, 'path');
  const validateUserConceptPath = compileValidator<{ user_id: string; concept_id: string }>(ajv, userConceptPathSchema, 'path');
  const router = new Router();

  router.get('/mastery/:user_id', async (ctx) => {
    const { user_id } = validateUserPath(ctx.params);
    ctx.type = 'application/json';
    ctx.body = await deps.reads.studentJson(user_id);
  });

  router.get('/mastery/:user_id/:concept_id', async (ctx) => {
    const { user_id, concept_id } = validateUserConceptPath(ctx.params);
    const record = await deps.reads.record(user_id, concept_id);
    if (!record) throw new NotFoundError(`No mastery record for student ${user_id} and concept ${concept_id}.`);
    ctx.body = record;
  });

  router.post('/mastery/recompute/:user_id', async (ctx) => {
    const { user_id } = validateUserPath(ctx.params);
    ctx.body = await recomputeUser(deps, user_id);
  });

  return router;
}
