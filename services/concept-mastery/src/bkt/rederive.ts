// After a fit: every BKT record computed with older parameters is derived again from the answers
// it holds, in the background, a page per transaction. Reads serve each record as it stands until
// its page is written; a record the consumer moved on meanwhile is already current (apply derives
// an older record again before it folds a new answer) and is left alone by the conditional write.
import type { Knex, Logger } from '@learning-analytics/common';
import { rederive, type BktState, type ParamsOf } from '../domain/bkt-model.js';
import type { MasteryModel } from '../domain/mastery-model.js';
import { countModelRecords, listModelRecords, lockFeedCursor, writeMasteries } from '../data/mastery-store.js';
import type { BktMetrics } from './bkt-metrics.js';

const PAGE = 500;

export async function rederiveRecords(deps: {
  db: Knex;
  model: MasteryModel<BktState>;
  paramsOf: ParamsOf;
  version: number;
  invalidate: (userIds: Iterable<string>) => void;
  metrics: BktMetrics;
  logger: Logger;
  /** True once a newer version started its own pass, or the service stops. */
  superseded: () => boolean;
}): Promise<void> {
  const { db, model, paramsOf, metrics } = deps;
  let pending = await countModelRecords(db, model.name);
  metrics.rederive.pending.set(pending);
  let after: { userId: string; conceptId: string } | undefined;
  let changed = 0;
  while (!deps.superseded()) {
    const page = await listModelRecords(db, model, after, PAGE);
    if (page.length === 0) break;
    const writes = page
      .filter(({ stored }) => stored.mastery.state.version !== deps.version)
      .map(({ userId, conceptId, stored }) => ({
        userId,
        conceptId,
        mastery: { ...stored.mastery, state: rederive(stored.mastery.state, conceptId, paramsOf) },
      }));
    if (writes.length > 0) {
      await db.transaction(async (trx) => {
        // Taken before the records' rows, as every writer does: no deadlock with the consumer's pages.
        await lockFeedCursor(trx, 'shared');
        await writeMasteries(trx, model, writes, Date.now());
      });
      deps.invalidate(new Set(writes.map((write) => write.userId)));
    }
    changed += writes.length;
    metrics.rederive.done.inc(writes.length);
    pending = Math.max(0, pending - page.length);
    metrics.rederive.pending.set(pending);
    const last = page.at(-1)!;
    after = { userId: last.userId, conceptId: last.conceptId };
  }
  metrics.rederive.pending.set(0);
  deps.logger.info({ version: deps.version, records: changed }, 'BKT records derived again with the parameters in force');
}
