// The real-time consumer: tails the Logger's commit-ordered feed (long polling), applies each page
// of events to the affected records and moves its cursor in the same transaction, so a crash or
// restart neither loses nor re-applies an event. Erasure markers in the feed delete the student's
// records in the same transaction. An event is applied to a record only when its seq
// is above the record's last_seq, so events a recompute has already folded are not counted twice.
// While the Logger is unreachable it backs off exponentially, with jitter, and resumes where it was.
import { setTimeout as wait } from 'node:timers/promises';
import { UpstreamError, purgeDeletedCopies, sha256Hex, type Knex, type Logger } from '@learning-analytics/common';
import { applyFeedEvent, foldHistory, isBackDated, type AnyMasteryModel, type ConceptMastery } from '../domain/mastery-model.js';
import { equalJitter, type ErasureMarker, type FeedPage, type LearningEventsClient } from '../clients/learning-events-client.js';
import {
  applyErasure,
  conceptKey,
  findMasteries,
  readFeedCursor,
  writeDeadLetters,
  writeFeedCursor,
  writeMasteries,
} from '../data/mastery-store.js';
import type { MasteryReads } from '../data/mastery-reads.js';
import type { MasteryMetrics } from '../metrics.js';

export interface FeedConsumerOptions {
  db: Knex;
  reads: Pick<MasteryReads, 'invalidate'>;
  /** Every registered model: each event is applied to each one's records. */
  models: readonly AnyMasteryModel[];
  client: Pick<LearningEventsClient, 'readFeed' | 'userHistoryPages'>;
  metrics: Pick<
    MasteryMetrics,
    | 'feedLagEvents'
    | 'feedLagSeconds'
    | 'feedCursor'
    | 'feedEvents'
    | 'feedFailures'
    | 'feedRefolds'
    | 'feedDeadLetters'
    | 'feedHeadBehindCursor'
  >;
  logger: Logger;
  pageSize: number;
  waitMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** Per model name, concepts (by conceptKey) folded anew from their history. */
type Refolds = Map<string, Map<string, ConceptMastery<unknown>>>;
/** Per order-sensitive model, concepts (by conceptKey) that received a back-dated event. */
type BackDated = Map<AnyMasteryModel, Map<string, { userId: string; conceptId: string }>>;

const ROLLED_BACK_FOR_REFOLD = Symbol('rolled back for a refold');
/** Attempts at one page; more than one only when a page holds back-dated events. */
const MAX_REFOLD_ATTEMPTS = 3;

export class FeedConsumer {
  private stopping = false;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  /** Up to when the records are known current: now when caught up, else the newest applied event's time. */
  private currentAsOf = Date.now();
  private headBehind = false;

  constructor(private readonly options: FeedConsumerOptions) {}

  start(): void {
    this.running ??= this.run();
  }

  /** Ends the loop: an in-flight poll is abandoned, a transaction in progress finishes. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    const { db, client, logger, pageSize, waitMs } = this.options;
    let cursor = await readFeedCursor(db);
    this.options.metrics.feedCursor.set(cursor);
    logger.info({ after_seq: cursor }, 'feed consumer started');
    let failures = 0;
    while (!this.stopping) {
      try {
        const page = await client.readFeed(cursor, pageSize, waitMs, this.abort.signal);
        this.watchHead(page.headSeq, cursor);
        cursor = await this.applyPage(page, cursor);
        this.observeLag(page, cursor);
        if (failures > 0) logger.info({ failures }, 'feed reachable again');
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        failures += 1;
        const delay = equalJitter(failures, this.options.backoffBaseMs, this.options.backoffMaxMs);
        // An unreachable Logger is expected operation, not a bug: its message says enough.
        const cause = err instanceof UpstreamError ? { reason: err.message } : { err };
        const line = { ...cause, failures, retry_in_ms: delay };
        this.options.metrics.feedFailures.inc({ reason: err instanceof UpstreamError ? err.code : 'internal' });
        // Unable to read the feed, the consumer falls further behind with every second: say so,
        // so a lag alert fires during an outage instead of showing the last good value.
        this.options.metrics.feedLagSeconds.set(Math.max(0, (Date.now() - this.currentAsOf) / 1000));
        // A refused credential does not mend itself: it needs an operator, every time it happens.
        if (err instanceof UpstreamError && err.code === 'upstream_refused')
          logger.error(line, 'the Logger refused the feed consumer; backing off');
        else if (failures === 1) logger.warn(line, 'feed consumer failed; backing off');
        else logger.debug(line, 'feed consumer failed again; backing off');
        await this.pause(delay);
      }
    }
    logger.info({ after_seq: cursor }, 'feed consumer stopped');
  }

  /**
   * Applies one page in one transaction with the cursor move; returns the new cursor. Events and
   * erasure markers are applied in seq order, to every model's records: an erasure deletes the
   * student's records as they stand after the events before it. A concept whose new event is
   * back-dated is re-folded from its history first, for the models that depend on order.
   */
  private async applyPage(page: FeedPage, cursor: number): Promise<number> {
    const nextCursor = Math.max(cursor, page.nextAfter);
    if (page.events.length === 0 && page.erasures.length === 0 && page.unusable.length === 0 && nextCursor === cursor) return cursor;
    const refolded: Refolds = new Map();
    for (let attempt = 1; ; attempt += 1) {
      const backDated = await this.applyPageOnce(page, nextCursor, refolded);
      if (backDated.size === 0) return nextCursor;
      // Still back-dated after a refold only when a recompute moved a record meanwhile.
      if (attempt === MAX_REFOLD_ATTEMPTS) throw new Error(`page after seq ${cursor} still has back-dated events after ${attempt} refolds`);
      await this.refold(backDated, refolded);
    }
  }

  /**
   * One attempt at a page, in one transaction. Returns, per order-sensitive model, the concepts
   * that received a back-dated event not covered by `refolded`: then nothing was written (the
   * transaction rolled back) and the caller refolds them and tries again.
   */
  private async applyPageOnce(page: FeedPage, nextCursor: number, refolded: Refolds): Promise<BackDated> {
    const { db, models, metrics } = this.options;
    const backDated: BackDated = new Map();
    let applied = 0;
    const written = new Set<string>();
    const outcome = await db
      .transaction(async (trx) => {
        const now = Date.now();
        const keys = new Map<string, { userId: string; conceptId: string }>();
        for (const event of page.events) {
          keys.set(conceptKey(event.user_id, event.concept_id), { userId: event.user_id, conceptId: event.concept_id });
        }
        const states = await Promise.all(
          models.map(async (model) => {
            const stored = await findMasteries(trx, model, [...keys.values()]);
            const current = new Map<string, ConceptMastery<unknown>>([...stored].map(([key, record]) => [key, record.mastery]));
            const changed = new Set<string>();
            for (const [key, mastery] of refolded.get(model.name) ?? []) {
              if (mastery.lastSeq < (current.get(key)?.lastSeq ?? 0)) continue;
              current.set(key, mastery);
              changed.add(key);
            }
            return { model, current, changed };
          }),
        );
        const writeChanged = async () => {
          for (const { model, current, changed } of states) {
            const writes = [...changed].map((key) => ({ ...keys.get(key)!, mastery: current.get(key)! }));
            for (const write of writes) written.add(write.userId);
            await writeMasteries(trx, model, writes, now);
            changed.clear();
          }
        };
        const erase = async (marker: ErasureMarker) => {
          await writeChanged();
          for (const userId of await applyErasure(trx, marker.userIdSha256, marker.seq, now)) written.add(userId);
          for (const [key, { userId }] of keys) {
            if (sha256Hex(userId) !== marker.userIdSha256) continue;
            for (const { current } of states) current.delete(key);
          }
        };
        let nextErasure = 0;
        for (const event of page.events) {
          while (nextErasure < page.erasures.length && page.erasures[nextErasure]!.seq < event.seq)
            await erase(page.erasures[nextErasure++]!);
          const key = conceptKey(event.user_id, event.concept_id);
          let appliedToAny = false;
          for (const { model, current, changed } of states) {
            const mastery = current.get(key);
            if (model.orderSensitive && event.seq > (mastery?.lastSeq ?? 0) && isBackDated(mastery, event)) {
              const concepts = backDated.get(model) ?? new Map<string, { userId: string; conceptId: string }>();
              backDated.set(model, concepts.set(key, keys.get(key)!));
            }
            const result = applyFeedEvent(model, mastery, event);
            if (!result.applied) continue;
            current.set(key, result.mastery);
            changed.add(key);
            appliedToAny = true;
          }
          if (appliedToAny) applied += 1;
        }
        // Folded out of order: roll back, refold those concepts from their history, try again.
        if (backDated.size > 0) return trx.rollback(ROLLED_BACK_FOR_REFOLD);
        for (const marker of page.erasures.slice(nextErasure)) await erase(marker);
        await writeChanged();
        await writeDeadLetters(trx, page.unusable, now);
        await writeFeedCursor(trx, nextCursor, now);
      })
      .catch((err: unknown) => {
        if (err === ROLLED_BACK_FOR_REFOLD) return ROLLED_BACK_FOR_REFOLD;
        throw err;
      });
    if (outcome === ROLLED_BACK_FOR_REFOLD) return backDated;
    for (const letter of page.unusable) {
      this.options.logger.warn(
        { seq: letter.seq, event_id: letter.eventId, reason: letter.reason },
        'feed event unusable: set aside as a dead letter',
      );
    }
    metrics.feedDeadLetters.inc(page.unusable.length);
    if (written.size > 0) this.options.reads.invalidate(written);
    if (page.erasures.length > 0) await purgeDeletedCopies(db);
    metrics.feedEvents.inc({ outcome: 'applied' }, applied);
    metrics.feedEvents.inc({ outcome: 'already_applied' }, page.events.length - applied);
    if (page.erasures.length > 0) metrics.feedEvents.inc({ outcome: 'erasure' }, page.erasures.length);
    metrics.feedCursor.set(nextCursor);
    return backDated;
  }

  /**
   * Folds each concept anew from its full history in timeline order, into `refolded`. The history
   * is read between transactions, which never hold the connection while waiting on the Logger.
   */
  private async refold(backDated: BackDated, refolded: Refolds): Promise<void> {
    for (const [model, concepts] of backDated) {
      const folds = refolded.get(model.name) ?? new Map<string, ConceptMastery<unknown>>();
      for (const [key, { userId, conceptId }] of concepts) {
        let history = new Map<string, ConceptMastery<unknown>>();
        for await (const page of this.options.client.userHistoryPages(userId, { conceptId })) history = foldHistory(model, page, history);
        const fold = history.get(conceptId);
        if (fold) folds.set(key, fold);
      }
      this.options.metrics.feedRefolds.inc(concepts.size);
      refolded.set(model.name, folds);
    }
  }

  /**
   * A Logger whose head is below the cursor lost events or was replaced (a restored backup): the
   * consumer would skip everything up to its cursor. That state is a gauge to alert on, and an
   * error line when it begins (not on every poll); it ends when the head passes the cursor again.
   */
  private watchHead(headSeq: number, cursor: number): void {
    const behind = headSeq < cursor;
    this.options.metrics.feedHeadBehindCursor.set(behind ? 1 : 0);
    if (behind && !this.headBehind) {
      this.options.logger.error(
        { after_seq: cursor, head_seq: headSeq },
        "the Logger's head is behind the feed cursor: was its database replaced or restored?",
      );
    } else if (!behind && this.headBehind) {
      this.options.logger.info({ after_seq: cursor, head_seq: headSeq }, "the Logger's head is past the feed cursor again");
    }
    this.headBehind = behind;
  }

  private observeLag(page: FeedPage, cursor: number): void {
    const { metrics } = this.options;
    const behind = Math.max(0, page.headSeq - cursor);
    metrics.feedLagEvents.set(behind);
    const newest = page.events[page.events.length - 1];
    if (behind === 0) this.currentAsOf = Date.now();
    else if (newest) this.currentAsOf = newest.recordedAt;
    metrics.feedLagSeconds.set(Math.max(0, (Date.now() - this.currentAsOf) / 1000));
  }

  /** Waits `ms`, or less when the consumer is stopped meanwhile. */
  private async pause(ms: number): Promise<void> {
    await wait(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }
}
