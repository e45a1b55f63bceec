// GET /feed: every event and erasure marker in feed order after a position, for consumers that
// tail the log. With wait_ms it long-polls: an empty page waits for the next commit instead of
// answering at once. A commit on this replica wakes it, and on PostgreSQL so does one on any
// other (the replica's commit listener releases the waiters; see main.ts).
import Router from '@koa/router';
import {
  BadRequestError,
  FEED_START,
  compileValidator,
  createAjv,
  feedPosition,
  parseFeedPosition,
  type Auth,
  type ServiceState,
} from '@learning-analytics/common';
import type { EventWriter } from '../data/event-writer.js';
import type { FeedCursor } from '../data/event-store.js';
import type { FeedPage } from '../data/event-reads.js';
import type { ReaderPool } from '../data/reader-pool.js';
import type { LoggerMetrics } from '../metrics.js';
import type { ReadSlots } from './read-slots.js';
import { feedQuerySchema, type FeedQuery } from '../schemas.js';

export interface FeedRoutesDeps {
  reads: ReaderPool;
  readSlots: ReadSlots;
  auth: Auth;
  writer: EventWriter;
  state: ServiceState;
  metrics: Pick<LoggerMetrics, 'feedHeldBackEvents' | 'feedHeldBackSeconds'>;
}

export function feedRouter({ reads, readSlots, auth, writer, state, metrics }: FeedRoutesDeps): Router {
  const validateFeedQuery = compileValidator<FeedQuery>(createAjv({ coerceTypes: true }), feedQuerySchema, 'query');
  state.onDrain(() => writer.releaseWaiters());
  const router = new Router();
  router.get('/feed', auth.require('events:read'), async (ctx) => {
    const query = validateFeedQuery({ ...ctx.query });
    const after = feedCursor(query);
    const readPage = async () => {
      const page = await readSlots.run(() => reads.read({ kind: 'feedPage', after, limit: query.limit }));
      observeHeldBack(page);
      return page;
    };
    const deadline = Date.now() + query.wait_ms;
    let clientGone = false;
    let nextCommit: ReturnType<EventWriter['waitForCommit']> | undefined;
    const onClose = () => {
      clientGone = true;
      nextCommit?.cancel();
    };
    ctx.res.once('close', onClose);
    let page: FeedPage;
    try {
      for (;;) {
        // Listen before reading, so a commit landing between the read and the wait is not missed.
        const left = deadline - Date.now();
        nextCommit = left > 0 && !state.draining && !clientGone ? writer.waitForCommit(left) : undefined;
        try {
          page = await readPage();
          if (page.last !== undefined || !nextCommit) break;
          // After a commit the page may still be empty: its events can wait behind an older open transaction.
          await nextCommit.ended;
        } finally {
          nextCommit?.cancel();
        }
      }
    } finally {
      ctx.res.off('close', onClose);
    }
    const nextCursor = page.last ?? feedPosition(after.txid, after.seq);
    ctx.type = 'application/json';
    ctx.body = Buffer.concat([
      Buffer.from('{"events":['),
      page.events.json,
      Buffer.from(`],"erasures":${JSON.stringify(page.erasures)},"next_cursor":"${nextCursor}","head_seq":${page.head}}`),
    ]);
  });

  function observeHeldBack({ heldBack }: FeedPage): void {
    metrics.feedHeldBackEvents.set(heldBack.count);
    metrics.feedHeldBackSeconds.set(
      heldBack.oldestRecordedAt === undefined ? 0 : Math.max(0, (Date.now() - heldBack.oldestRecordedAt) / 1000),
    );
  }
  return router;
}

/** Where the page starts: after `cursor`, or after the seq `after` of the seq-ordered feed (transaction 0). */
function feedCursor(query: FeedQuery): FeedCursor {
  if (query.cursor !== undefined && query.after !== undefined) {
    throw new BadRequestError('Invalid query parameters.', [{ path: 'query:/after', reason: 'cannot be combined with cursor' }]);
  }
  if (query.after !== undefined) return { txid: '0', seq: query.after };
  if (query.cursor === undefined) return parseFeedPosition(FEED_START)!;
  const cursor = parseFeedPosition(query.cursor);
  if (!cursor) throw new BadRequestError('Invalid cursor.', [{ path: 'query:/cursor', reason: 'is not a position this service issued' }]);
  return cursor;
}
