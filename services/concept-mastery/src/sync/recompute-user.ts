// Recompute: fold a student's settled history from the Logger (every event at a feed position up to
// the listing's Feed-Settled-Through), page by page (memory stays flat), into every model's
// records, then write them in one transaction. Each record then claims every position up to there;
// the feed brings the events committed above it. A record is written only when the fold is
// at least as far along as what is stored (the real-time consumer may already be further: its
// record is then newer and is kept) and changes something, so a second run leaves every record,
// updated_at included, as it was. Nothing is written unless the whole history was read, nor what an erasure
// applied meanwhile removed.
import { UpstreamError, type Knex, type Logger } from '@learning-analytics/common';
import { foldSettledHistory, type AnyMasteryModel, type ConceptMastery, type EventOutcome } from '../domain/mastery-model.js';
import type { LearningEventsClient } from '../clients/learning-events-client.js';
import { findUserMasteries, latestErasurePosition, lockFeedCursor, writeMasteries, type StoredMastery } from '../data/mastery-store.js';
import type { MasteryReads } from '../data/mastery-reads.js';
import type { MasteryMetrics } from '../metrics.js';
import type { RecomputeSummary } from '../schemas.js';

export interface RecomputeDeps {
  db: Knex;
  reads: Pick<MasteryReads, 'invalidate'>;
  /** Every registered model; the first is the default one, whose outcomes the summary reports. */
  models: readonly AnyMasteryModel[];
  client: Pick<LearningEventsClient, 'userHistoryPages'>;
  metrics: Pick<MasteryMetrics, 'recomputeDuration' | 'recomputeEvents'>;
  logger: Logger;
}

/** `signal` ends the recompute early (its caller went away, or its deadline passed): nothing is written. */
export async function recomputeUser(deps: RecomputeDeps, userId: string, signal?: AbortSignal): Promise<RecomputeSummary> {
  const { db, models, client, metrics } = deps;
  const summaryModel = models[0]!;
  const started = process.hrtime.bigint();
  const elapsedSeconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const folds = new Map(models.map((model) => [model, new Map<string, ConceptMastery<unknown>>()]));
    const outcomes = new Map<EventOutcome, number>();
    let processed = 0;
    for await (const { events, settledThrough } of client.userHistoryPages(userId, signal ? { signal } : {})) {
      for (const event of events) {
        if (event.user_id !== userId) {
          throw new UpstreamError(502, 'upstream_bad_response', "The Learning Events Service answered another student's events.");
        }
        const outcome = summaryModel.classify(event);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
      for (const model of models) folds.set(model, foldSettledHistory(model, events, settledThrough, folds.get(model)));
      processed += events.length;
    }

    signal?.throwIfAborted();
    const written = await db.transaction(async (trx) => {
      // Before the look at the erasures: an erasure the consumer applies now waits for this commit.
      await lockFeedCursor(trx, 'shared');
      // A fold that ends before the student's latest erasure read events that are gone since; one
      // that reaches it read the history after the erasure.
      const erasedAt = await latestErasurePosition(trx, userId);
      const counts: Record<string, number> = {};
      for (const model of models) {
        const stored = await findUserMasteries(trx, model, userId);
        const writes = [...folds.get(model)!]
          .filter(([, mastery]) => mastery.lastPosition >= erasedAt)
          .filter(([conceptId, mastery]) => changesStoredRecord(model, stored.get(conceptId), mastery))
          .map(([conceptId, mastery]) => ({ userId, conceptId, mastery }));
        await writeMasteries(trx, model, writes, Date.now());
        counts[model.name] = writes.length;
      }
      return counts;
    });
    if (Object.values(written).some((count) => count > 0)) deps.reads.invalidate([userId]);

    const skipped: Record<string, number> = {};
    for (const [outcome, count] of outcomes) {
      metrics.recomputeEvents.inc({ outcome }, count);
      if (outcome !== 'passed' && outcome !== 'failed') skipped[outcome] = count;
    }
    const durationMs = Math.round(elapsedSeconds() * 1e6) / 1e3;
    deps.logger.info({ user_id: userId, events_processed: processed, records_written: written, duration_ms: durationMs }, 'recomputed');
    return {
      user_id: userId,
      model: summaryModel.name,
      events_processed: processed,
      events_skipped: skipped,
      concepts_written: written[summaryModel.name]!,
      records_written: written,
      duration_ms: durationMs,
    };
  } finally {
    metrics.recomputeDuration.observe(elapsedSeconds());
  }
}

/**
 * A stored record is replaced only when the fold is at least as far along and says something else.
 * One that says the same stays as it is, updated_at included, even when the fold claims further: it
 * is still the fold of every event up to its own position, and the consumer folds the ones past it
 * when the feed brings them.
 */
function changesStoredRecord(model: AnyMasteryModel, stored: StoredMastery<unknown> | undefined, fold: ConceptMastery<unknown>): boolean {
  if (!stored) return true;
  if (fold.lastPosition < stored.mastery.lastPosition) return false;
  return (
    stored.stateText !== model.encode(fold.state) ||
    stored.mastery.lastEventAt !== fold.lastEventAt ||
    stored.mastery.lastEventSeq !== fold.lastEventSeq
  );
}
