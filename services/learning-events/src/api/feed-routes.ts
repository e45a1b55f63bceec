// GET /feed: every event in commit order after a sequence number, for consumers that tail the log.
import Router from '@koa/router';
import { compileValidator, createAjv, type Knex } from '@learning-analytics/common';
import { eventRowJson, headSeq, listFeedPage } from '../data/event-store.js';
import { feedQuerySchema, type FeedQuery } from '../schemas.js';

export function feedRouter({ db }: { db: Knex }): Router {
  const validateFeedQuery = compileValidator<FeedQuery>(createAjv({ coerceTypes: true }), feedQuerySchema, 'query');
  const router = new Router();
  router.get('/feed', async (ctx) => {
    const { after, limit } = validateFeedQuery({ ...ctx.query });
    const rows = await listFeedPage(db, after, limit);
    const head = await headSeq(db);
    const nextAfter = rows.length > 0 ? Number(rows[rows.length - 1]!.seq) : after;
    ctx.type = 'application/json';
    ctx.body = `{"events":[${rows.map(eventRowJson).join(',')}],"next_after":${nextAfter},"head_seq":${Math.max(head, nextAfter)}}`;
  });
  return router;
}
