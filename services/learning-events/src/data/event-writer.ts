// Group commit. Every POST hands its events to the one writer, which folds all appends waiting at
// that moment into a single transaction, commits it (fsync, synchronous=FULL) and only then
// answers each of them. One writer also means seq order is commit order, which /feed relies on.
//
// The writer runs on the main thread. A writer thread was measured too: on two cores the extra
// thread and the message passing cost more than the fsync it took off the event loop.
import type { Knex } from '@learning-analytics/common';
import { isSameEvent, type NewEvent, type StoredEvent } from '../domain/events.js';
import { findEventsByIds, insertEvents } from './event-store.js';
import type { LoggerMetrics } from '../metrics.js';

export type AppendOutcome =
  | { status: 'created'; event: StoredEvent }
  | { status: 'duplicate'; event: StoredEvent }
  | { status: 'conflict'; event: StoredEvent };

interface PendingAppend {
  events: NewEvent[];
  resolve: (outcomes: AppendOutcome[]) => void;
  reject: (err: unknown) => void;
}

/** Upper bound on events per transaction, so one commit never holds the database for long. */
const MAX_EVENTS_PER_COMMIT = 10_000;

export class EventWriter {
  private queue: PendingAppend[] = [];
  private running: Promise<void> | undefined;
  private readonly commitWaiters = new Set<() => void>();

  constructor(
    private readonly db: Knex,
    private readonly metrics: LoggerMetrics,
  ) {}

  /**
   * Stores the events atomically: all of them, or none when any event_id is already stored with
   * different content (then the outcomes say which). Resolves after the commit is durable.
   */
  append(events: NewEvent[]): Promise<AppendOutcome[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      this.running ??= new Promise<void>((done) => setImmediate(done)).then(() => this.drain());
    });
  }

  /** Resolves at the next commit, or after `timeoutMs`, or when released: whichever comes first. */
  waitForCommit(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.commitWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.commitWaiters.add(done);
    });
  }

  /** Wakes every waitForCommit caller now. */
  releaseWaiters(): void {
    for (const done of [...this.commitWaiters]) done();
  }

  /** Resolves once everything appended so far is committed. */
  async close(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.takeGroup();
        try {
          const outcomes = await this.commit(group);
          group.forEach((append, i) => append.resolve(outcomes[i]!));
          this.releaseWaiters();
        } catch (err) {
          for (const append of group) append.reject(err);
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  private takeGroup(): PendingAppend[] {
    let count = 0;
    let take = 0;
    while (take < this.queue.length && (take === 0 || count + this.queue[take]!.events.length <= MAX_EVENTS_PER_COMMIT)) {
      count += this.queue[take]!.events.length;
      take += 1;
    }
    return this.queue.splice(0, take);
  }

  private async commit(group: PendingAppend[]): Promise<AppendOutcome[][]> {
    const started = process.hrtime.bigint();
    let inserted = 0;
    const outcomes = await this.db.transaction(async (trx) => {
      const clientIds = group.flatMap((a) => a.events.filter((e) => e.idChosenByClient).map((e) => e.event_id));
      const known = clientIds.length > 0 ? await findEventsByIds(trx, clientIds) : new Map<string, StoredEvent>();
      const toInsert: StoredEvent[] = [];
      const result = group.map((append) => {
        const perEvent = append.events.map((event): AppendOutcome => {
          const stored = known.get(event.event_id);
          if (!stored) return { status: 'created', event: { ...event, seq: 0 } };
          return { status: isSameEvent(stored, event) ? 'duplicate' : 'conflict', event: stored };
        });
        if (perEvent.some((o) => o.status === 'conflict')) return perEvent;
        for (const [i, outcome] of perEvent.entries()) {
          if (outcome.status !== 'created') continue;
          toInsert.push(outcome.event);
          // A later append in this group with the same client-chosen id is its retry.
          if (append.events[i]!.idChosenByClient) known.set(outcome.event.event_id, outcome.event);
        }
        return perEvent;
      });
      const seqs = await insertEvents(trx, toInsert);
      for (const event of toInsert) event.seq = seqs.get(event.event_id)!;
      inserted = toInsert.length;
      return result;
    });
    this.metrics.commitDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.metrics.writeBatchSize.observe(inserted);
    return outcomes;
  }
}
