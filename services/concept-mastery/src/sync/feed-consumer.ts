// The real-time consumer: tails the Logger's feed (long polling), applies each page of events to the
// affected records and moves its cursor, a feed position, in the same transaction, so a crash or
// restart neither loses nor re-applies an event. Erasure markers in the feed delete the student's
// records in the same transaction. An event is applied to a record only when its position is above
// the record's last_position, so events a recompute has already folded are not counted twice.
// Of several replicas, only the one holding the consumer lease consumes (see consumer-lease.ts); the
// others wait for it. While the Logger is unreachable it backs off exponentially, with jitter, and
// resumes where it was.
import { setTimeout as wait } from 'node:timers/promises';
import {
  FEED_START,
  UpstreamError,
  parseFeedPosition,
  purgeDeletedCopies,
  sha256Hex,
  type Knex,
  type Logger,
} from '@learning-analytics/common';
import { applyFeedEvent, foldSettledHistory, isBackDated, type AnyMasteryModel, type ConceptMastery } from '../domain/mastery-model.js';
import { equalJitter, type ErasureMarker, type FeedPage, type LearningEventsClient } from '../clients/learning-events-client.js';
import {
  applyErasure,
  conceptKey,
  findMasteries,
  lockFeedCursor,
  readFeedCursor,
  writeDeadLetters,
  writeFeedCursor,
  writeMasteries,
} from '../data/mastery-store.js';
import type { ConsumerLease, ConsumerLeases } from '../data/consumer-lease.js';
import type { MasteryReads } from '../data/mastery-reads.js';
import type { MasteryMetrics } from '../metrics.js';

export interface FeedConsumerOptions {
  db: Knex;
  /** Who consumes, of several replicas; the transactions that apply pages run through the lease. */
  leases: ConsumerLeases;
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
    | 'feedConsumerActive'
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

/** How one attempt at a page ended. */
type PageOutcome =
  | { kind: 'applied' }
  /** Nothing written: these concepts need a refold first. */
  | { kind: 'back_dated'; backDated: BackDated }
  /** Nothing written: the stored cursor is not where this page starts (another consumer moved it). */
  | { kind: 'superseded'; storedCursor: string };

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

  /** Ends the loop: an in-flight poll is abandoned, a transaction in progress finishes, the lease is released. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    const { leases, metrics } = this.options;
    metrics.feedConsumerActive.set(0);
    while (!this.stopping) {
      const lease = await leases.acquire(this.abort.signal);
      if (!lease) break;
      metrics.feedConsumerActive.set(1);
      this.currentAsOf = Date.now();
      try {
        await this.consume(lease);
      } finally {
        metrics.feedConsumerActive.set(0);
        // Only the replica consuming reports lag: another's would be stale.
        metrics.feedLagEvents.set(0);
        metrics.feedLagSeconds.set(0);
        await lease.release();
      }
    }
  }

  /** Follows the feed while this replica holds `lease`. */
  private async consume(lease: ConsumerLease): Promise<void> {
    const { client, logger, pageSize, waitMs } = this.options;
    let cursor: string | undefined;
    let failures = 0;
    while (!this.stopping && !lease.lost) {
      try {
        if (cursor === undefined) {
          cursor = await lease.transaction((trx) => readFeedCursor(trx));
          this.showCursor(cursor);
          logger.info({ cursor }, 'feed consumer started');
        }
        const page = await client.readFeed(cursor, pageSize, waitMs, this.abort.signal);
        this.watchHead(page.headSeq, cursor);
        cursor = await this.applyPage(lease, page, cursor);
        this.observeLag(page);
        if (failures > 0) logger.info({ failures }, 'feed reachable again');
        failures = 0;
      } catch (err) {
        if (this.stopping || lease.lost) break;
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
    if (lease.lost && !this.stopping) logger.warn({ cursor }, 'lost the feed consumer lock (its database session ended): stopped applying');
    else logger.info({ cursor }, 'feed consumer stopped');
  }

  /**
   * Applies one page in one transaction with the cursor move; returns the new cursor. Events and
   * erasure markers are applied in position order, to every model's records: an erasure deletes the
   * student's records as they stand after the events before it. A concept whose new event is
   * back-dated is re-folded from its history first, for the models that depend on order.
   */
  private async applyPage(lease: ConsumerLease, page: FeedPage, cursor: string): Promise<string> {
    const nextCursor = page.nextCursor > cursor ? page.nextCursor : cursor;
    if (page.events.length === 0 && page.erasures.length === 0 && page.unusable.length === 0 && nextCursor === cursor) return cursor;
    const refolded: Refolds = new Map();
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.applyPageOnce(lease, page, cursor, nextCursor, refolded);
      if (outcome.kind === 'applied') return nextCursor;
      if (outcome.kind === 'superseded') {
        this.options.logger.warn(
          { cursor, stored_cursor: outcome.storedCursor },
          'the stored feed cursor is not where this consumer was: another one applied pages; going on from the stored cursor',
        );
        this.showCursor(outcome.storedCursor);
        return outcome.storedCursor;
      }
      // Still back-dated after a refold only when a recompute moved a record meanwhile.
      if (attempt === MAX_REFOLD_ATTEMPTS) throw new Error(`page after ${cursor} still has back-dated events after ${attempt} refolds`);
      await this.refold(outcome.backDated, refolded);
    }
  }

  /**
   * One attempt at a page, in one transaction. It first locks the stored cursor and checks that it
   * is where the page starts, so a page applied twice (by a consumer that lost its lease, or by two
   * at once) is written once. Back-dated events not covered by `refolded` roll it back.
   */
  private async applyPageOnce(
    lease: ConsumerLease,
    page: FeedPage,
    cursor: string,
    nextCursor: string,
    refolded: Refolds,
  ): Promise<PageOutcome> {
    const { db, models, metrics } = this.options;
    const backDated: BackDated = new Map();
    let applied = 0;
    const written = new Set<string>();
    const outcome = await lease
      .transaction(async (trx): Promise<PageOutcome> => {
        const storedCursor = await lockFeedCursor(trx, 'exclusive');
        if (storedCursor !== cursor) return { kind: 'superseded', storedCursor };
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
              if (mastery.lastPosition < (current.get(key)?.lastPosition ?? FEED_START)) continue;
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
          for (const userId of await applyErasure(trx, marker.userIdSha256, marker.position, now)) written.add(userId);
          for (const [key, { userId }] of keys) {
            if (sha256Hex(userId) !== marker.userIdSha256) continue;
            for (const { current } of states) {
              // As applyErasure: a record folded from a history read after the erasure stays.
              if ((current.get(key)?.lastPosition ?? FEED_START) < marker.position) current.delete(key);
            }
          }
        };
        let nextErasure = 0;
        for (const event of page.events) {
          while (nextErasure < page.erasures.length && page.erasures[nextErasure]!.position < event.position)
            await erase(page.erasures[nextErasure++]!);
          const key = conceptKey(event.user_id, event.concept_id);
          let appliedToAny = false;
          for (const { model, current, changed } of states) {
            const mastery = current.get(key);
            if (model.orderSensitive && event.position > (mastery?.lastPosition ?? FEED_START) && isBackDated(mastery, event)) {
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
        if (backDated.size > 0) {
          await trx.rollback(ROLLED_BACK_FOR_REFOLD);
          return { kind: 'back_dated', backDated };
        }
        for (const marker of page.erasures.slice(nextErasure)) await erase(marker);
        await writeChanged();
        await writeDeadLetters(trx, page.unusable, now);
        await writeFeedCursor(trx, nextCursor, now);
        return { kind: 'applied' };
      })
      .catch((err: unknown): PageOutcome => {
        if (err === ROLLED_BACK_FOR_REFOLD) return { kind: 'back_dated', backDated };
        throw err;
      });
    if (outcome.kind !== 'applied') return outcome;
    for (const letter of page.unusable) {
      this.options.logger.warn(
        { seq: letter.seq, position: letter.position, event_id: letter.eventId, reason: letter.reason },
        'feed event unusable: set aside as a dead letter',
      );
    }
    metrics.feedDeadLetters.inc(page.unusable.length);
    if (written.size > 0) this.options.reads.invalidate(written);
    if (page.erasures.length > 0) await purgeDeletedCopies(db);
    metrics.feedEvents.inc({ outcome: 'applied' }, applied);
    metrics.feedEvents.inc({ outcome: 'already_applied' }, page.events.length - applied);
    if (page.erasures.length > 0) metrics.feedEvents.inc({ outcome: 'erasure' }, page.erasures.length);
    this.showCursor(nextCursor);
    return outcome;
  }

  /**
   * Folds each concept anew from its history into `refolded`: the events the listing holds settled,
   * each fold then claiming every position up to its Feed-Settled-Through. The history is read
   * between transactions, which never hold the connection while waiting on the Logger.
   */
  private async refold(backDated: BackDated, refolded: Refolds): Promise<void> {
    for (const [model, concepts] of backDated) {
      const folds = refolded.get(model.name) ?? new Map<string, ConceptMastery<unknown>>();
      for (const [key, { userId, conceptId }] of concepts) {
        let history = new Map<string, ConceptMastery<unknown>>();
        for await (const { events, settledThrough } of this.options.client.userHistoryPages(userId, { conceptId }))
          history = foldSettledHistory(model, events, settledThrough, history);
        const fold = history.get(conceptId);
        if (fold) folds.set(key, fold);
      }
      this.options.metrics.feedRefolds.inc(concepts.size);
      refolded.set(model.name, folds);
    }
  }

  private showCursor(cursor: string): void {
    this.options.metrics.feedCursor.set(parseFeedPosition(cursor)?.seq ?? 0);
  }

  /**
   * A Logger whose head seq is below the seq of the cursor lost events or was replaced (a restored
   * backup): the consumer would skip everything up to its cursor. That state is a gauge to alert
   * on, and an error line when it begins (not on every poll); it ends when the head passes the
   * cursor again.
   */
  private watchHead(headSeq: number, cursor: string): void {
    const cursorSeq = parseFeedPosition(cursor)?.seq ?? 0;
    const behind = headSeq < cursorSeq;
    this.options.metrics.feedHeadBehindCursor.set(behind ? 1 : 0);
    if (behind && !this.headBehind) {
      this.options.logger.error(
        { cursor, cursor_seq: cursorSeq, head_seq: headSeq },
        "the Logger's head is behind the feed cursor: was its database replaced or restored?",
      );
    } else if (!behind && this.headBehind) {
      this.options.logger.info({ cursor, head_seq: headSeq }, "the Logger's head is past the feed cursor again");
    }
    this.headBehind = behind;
  }

  /** Lag in events: the head seq minus the seq of the page's last item; an empty page means caught up. */
  private observeLag(page: FeedPage): void {
    const { metrics } = this.options;
    const items = page.events.length + page.erasures.length + page.unusable.length;
    const newestSeq = parseFeedPosition(page.nextCursor)?.seq ?? 0;
    const behind = items === 0 ? 0 : Math.max(0, page.headSeq - newestSeq);
    metrics.feedLagEvents.set(behind);
    const newest = page.events[page.events.length - 1];
    const now = Date.now();
    if (behind === 0) this.currentAsOf = now;
    else if (newest) this.currentAsOf = newest.recordedAt;
    metrics.feedLagSeconds.set(Math.max(0, (now - this.currentAsOf) / 1000));
  }

  /** Waits `ms`, or less when the consumer is stopped meanwhile. */
  private async pause(ms: number): Promise<void> {
    await wait(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }
}
