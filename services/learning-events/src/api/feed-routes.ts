// GET /feed: every event in commit order after a sequence number, for consumers that tail the log.
// With wait_ms it long-polls: an empty page waits for the next commit instead of answering at once.
import Router from '@koa/router';
import { compileValidator, createAjv, type Knex, type ServiceState } from '@learning-analytics/common';
import { headSeq, listFeedPage } from '../data/event-store.js';
import { readEventPage } from './bounded-page.js';
import type { EventWriter } from '../data/event-writer.js';
import { feedQuerySchema, type FeedQuery } from '../schemas.js';

export function feedRouter({ db, writer, state }: { db: Knex; writer: EventWriter; state: ServiceState }): Router {
  const validateFeedQuery = compileValidator<FeedQuery>(createAjv({ coerceTypes: true }), feedQuerySchema, 'query');
  state.onDrain(() => writer.releaseWaiters());
  const router = new Router();
  router.get('/feed', async (ctx) => {
    const { after, limit, wait_ms } = validateFeedQuery({ ...ctx.query });
    const readPage = () => readEventPage(limit, (last, n) => listFeedPage(db, last ? Number(last.seq) : after, n));
    // Listen before reading, so a commit landing between the read and the wait is not missed; stop
    // listening as soon as the answer is known or the client has gone.
    const nextCommit = wait_ms > 0 ? writer.waitForCommit(wait_ms) : undefined;
    let page;
    if (nextCommit) ctx.res.once('close', nextCommit.cancel);
    try {
      page = await readPage();
      if (page.count === 0 && nextCommit && !state.draining) {
        await nextCommit.ended;
        page = await readPage();
      }
    } finally {
      nextCommit?.cancel();
      if (nextCommit) ctx.res.off('close', nextCommit.cancel);
    }
    const head = await headSeq(db);
    const nextAfter = page.last ? Number(page.last.seq) : after;
    ctx.type = 'application/json';
    // The head is read after the page, so it is at least the page's last seq; it is below next_after
    // only when the caller asked past the head, which a consumer must see (a replaced database).
    ctx.body = `{"events":[${page.json}],"next_after":${nextAfter},"head_seq":${head}}`;
  });
  return router;
}
