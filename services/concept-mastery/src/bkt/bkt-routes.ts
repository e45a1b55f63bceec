// The BKT API: start a fit, follow it, read the parameters in force.
import Router from '@koa/router';
import { Type } from '@sinclair/typebox';
import { ConflictError, NotFoundError, compileValidator, createAjv, type Auth } from '@learning-analytics/common';
import type { FitJobs } from './fit-job.js';
import type { BktParamsStore } from './params-store.js';

const fitPathSchema = Type.Object({ fit_id: Type.String({ format: 'uuid', description: 'The fit.' }) });

export function bktRouter({ auth, fits, params }: { auth: Auth; fits: FitJobs; params: BktParamsStore }): Router {
  const validateFitPath = compileValidator<{ fit_id: string }>(createAjv(), fitPathSchema, 'path');
  const router = new Router();

  router.post('/models/bkt/fit', auth.require('admin'), async (ctx) => {
    const fit = await fits.start();
    if (!fit) throw new ConflictError('A BKT fit is already running; follow it at GET /models/bkt/fits/{fit_id}.');
    ctx.status = 202;
    ctx.set('Location', `/models/bkt/fits/${fit.fit_id}`);
    ctx.body = { fit_id: fit.fit_id, status: fit.status };
  });

  router.get('/models/bkt/fits/:fit_id', auth.require('mastery:read'), async (ctx) => {
    const { fit_id } = validateFitPath(ctx.params);
    const fit = await fits.find(fit_id.toLowerCase());
    if (!fit) throw new NotFoundError(`No BKT fit ${fit_id}.`);
    ctx.body = fit;
  });

  router.get('/models/bkt', auth.require('mastery:read'), (ctx) => {
    const { version, fittedAt, concepts } = params.current;
    ctx.body = {
      version,
      fitted_at: fittedAt === undefined ? null : new Date(fittedAt).toISOString(),
      concepts: [...concepts.values()],
    };
  });

  return router;
}
