// GET /feed: every event and erasure marker in commit order after a sequence number, for consumers
// that tail the log. With wait_ms it long-polls: an empty page waits for the next commit instead of
// answering at once.
import Router from '@koa/router';
import { compileValidator, createAjv, type Auth, type Knex, type ServiceState } from '@learning-analytics/common';
import { headSeq, listErasures, listFeedPage, type ErasureMarker } from '../data/event-store.js';
import { readEventPage, type EventPage } from './bounded-page.js';
import type { EventWriter } from '../data/event-writer.js';
import { feedQuerySchema, type FeedQuery } from '../schemas.js';

export function feedRouter({ db, auth, writer, state }: { db: Knex; auth: Auth; writer: EventWriter; state: ServiceState }): Router {
  const validateFeedQuery = compileValidator<FeedQuery>(createAjv({ coerceTypes: true }), feedQuerySchema, 'query');
  state.onDrain(() => writer.releaseWaiters());
  const router = new Router();
  router.get('/feed', auth.require('events:read'), async (ctx) => {
    const { after, limit, wait_ms } = validateFeedQuery({ ...ctx.query });
    const readPage = () => readFeedPage(db, after, limit);
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
    const lastEventSeq = page.events.last ? Number(page.events.last.seq) : after;
    const nextAfter = Math.max(lastEventSeq, page.erasures.at(-1)?.seq ?? after);
    ctx.type = 'application/json';
    // head_seq is below next_after only when the caller asked past the head, which a consumer must
    // see (a replaced database).
    ctx.body = `{"events":[${page.events.json}],"erasures":${JSON.stringify(page.erasures)},"next_after":${nextAfter},"head_seq":${page.head}}`;
  });
  return router;
}

interface FeedPage {
  events: EventPage;
  erasures: ErasureMarker[];
  head: number;
}

/**
 * The events and erasure markers after `after`, in seq order: up to `limit` of each, covering one
 * seq range with nothing left out inside it. The head is read first; every seq up to it is
 * committed (one writer assigns them in commit order), so both reads, bounded by it, see the same
 * range.
 */
async function readFeedPage(db: Knex, after: number, limit: number): Promise<FeedPage> {
  const head = await headSeq(db);
  let erasures = await listErasures(db, after, head, limit);
  const end = erasures.length === limit ? erasures.at(-1)!.seq : head;
  const events = await readEventPage(limit, (last, n) => listFeedPage(db, last ? Number(last.seq) : after, end, n));
  if (events.more) {
    const lastEventSeq = Number(events.last!.seq);
    erasures = erasures.filter((marker) => marker.seq <= lastEventSeq);
  }
  return { events, erasures, head };
}
