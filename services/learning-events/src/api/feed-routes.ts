// GET /feed: every event in commit order after a sequence number, for consumers that tail the log.
// With wait_ms it long-polls: an empty page waits for the next commit instead of answering at once.
import Router from '@koa/router';
import { compileValidator, createAjv, type Knex, type ServiceState } from '@learning-analytics/common';
import { eventRowJson, headSeq, listFeedPage } from '../data/event-store.js';
import type { EventWriter } from '../data/event-writer.js';
import { feedQuerySchema, type FeedQuery } from '../schemas.js';

export function feedRouter({ db, writer, state }: { db: Knex; writer: EventWriter; state: ServiceState }): Router {
  const validateFeedQuery = compileValidator<FeedQuery>(createAjv({ coerceTypes: true }), feedQuerySchema, 'query');
  state.onDrain(() => writer.releaseWaiters());
  const router = new Router();
  router.get('/feed', async (ctx) => {
    const { after, limit, wait_ms } = validateFeedQuery({ ...ctx.query });
    // Listen before reading, so a commit landing between the read and the wait is not missed.
    const nextCommit = wait_ms > 0 ? writer.waitForCommit(wait_ms) : undefined;
    let rows = await listFeedPage(db, after, limit);
    if (rows.length === 0 && nextCommit && !state.draining) {
      await nextCommit;
      rows = await listFeedPage(db, after, limit);
    }
    const head = await headSeq(db);
    const nextAfter = rows.length > 0 ? Number(rows[rows.length - 1]!.seq) : after;
    ctx.type = 'application/json';
    ctx.body = `{"events":[${rows.map(eventRowJson).join(',')}],"next_after":${nextAfter},"head_seq":${Math.max(head, nextAfter)}}`;
  });
  return router;
}
