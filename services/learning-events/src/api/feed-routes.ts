// GET /feed: every event and erasure marker in commit order after a sequence number, for consumers
// that tail the log. With wait_ms it long-polls: an empty page waits for the next commit instead of
// answering at once.
import Router from '@koa/router';
import { compileValidator, createAjv, type Auth, type ServiceState } from '@learning-analytics/common';
import type { EventWriter } from '../data/event-writer.js';
import type { ReaderPool } from '../data/reader-pool.js';
import type { ReadSlots } from './read-slots.js';
import { feedQuerySchema, type FeedQuery } from '../schemas.js';

export interface FeedRoutesDeps {
  reads: ReaderPool;
  readSlots: ReadSlots;
  auth: Auth;
  writer: EventWriter;
  state: ServiceState;
}

export function feedRouter({ reads, readSlots, auth, writer, state }: FeedRoutesDeps): Router {
  const validateFeedQuery = compileValidator<FeedQuery>(createAjv({ coerceTypes: true }), feedQuerySchema, 'query');
  state.onDrain(() => writer.releaseWaiters());
  const router = new Router();
  router.get('/feed', auth.require('events:read'), async (ctx) => {
    const { after, limit, wait_ms } = validateFeedQuery({ ...ctx.query });
    const readPage = () => readSlots.run(() => reads.read({ kind: 'feedPage', after, limit }));
    // Listen before reading, so a commit landing between the read and the wait is not missed; stop
    // listening as soon as the answer is known or the client has gone.
    const nextCommit = wait_ms > 0 ? writer.waitForCommit(wait_ms) : undefined;
    let page;
    if (nextCommit) ctx.res.once('close', nextCommit.cancel);
    try {
      page = await readPage();
      if (page.events.count + page.erasures.length === 0 && nextCommit && !state.draining) {
        await nextCommit.ended;
        page = await readPage();
      }
    } finally {
      nextCommit?.cancel();
      if (nextCommit) ctx.res.off('close', nextCommit.cancel);
    }
    const nextAfter = Math.max(page.events.lastSeq ?? after, page.erasures.at(-1)?.seq ?? after);
    ctx.type = 'application/json';
    // head_seq is below next_after only when the caller asked past the head, which a consumer must
    // see (a replaced database).
    ctx.body = Buffer.concat([
      Buffer.from('{"events":['),
      page.events.json,
      Buffer.from(`],"erasures":${JSON.stringify(page.erasures)},"next_after":${nextAfter},"head_seq":${page.head}}`),
    ]);
  });
  return router;
}
