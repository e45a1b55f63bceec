// The Learning Events Service's own metrics, on the service registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface LoggerMetrics {
  eventsIngested: Counter<'event_type'>;
  eventsRejected: Counter<'reason'>;
  writeBatchSize: Histogram;
  commitDuration: Histogram;
  readsInProgress: Gauge;
  readsRefused: Counter;
  feedHeldBackEvents: Gauge;
  feedHeldBackSeconds: Gauge;
}

export function createLoggerMetrics(registry: Registry): LoggerMetrics {
  return {
    eventsIngested: new Counter({
      name: 'events_ingested_total',
      help: 'Events stored, by event type (retried duplicates are not counted).',
      labelNames: ['event_type'] as const,
      registers: [registry],
    }),
    eventsRejected: new Counter({
      name: 'events_rejected_total',
      help: 'Events refused, by reason (the error code answered).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    writeBatchSize: new Histogram({
      name: 'events_write_batch_size',
      help: 'Events inserted per commit (group commit folds concurrent requests into one transaction).',
      buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000, 5000, 10000],
      registers: [registry],
    }),
    commitDuration: new Histogram({
      name: 'events_commit_duration_seconds',
      help: 'Duration of one write transaction, including its durable commit.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    readsInProgress: new Gauge({
      name: 'event_reads_in_progress',
      help: 'Timeline and feed reads running now (a streamed timeline counts until its last byte).',
      registers: [registry],
    }),
    readsRefused: new Counter({
      name: 'event_reads_refused_total',
      help: 'Timeline and feed reads refused with 503 because MAX_CONCURRENT_READS were running.',
      registers: [registry],
    }),
    feedHeldBackEvents: new Gauge({
      name: 'feed_held_back_events',
      help: 'At the last feed read: committed events not yet handed out because an older transaction was still open (PostgreSQL).',
      registers: [registry],
    }),
    feedHeldBackSeconds: new Gauge({
      name: 'feed_held_back_seconds',
      help: 'At the last feed read: how long ago the oldest held-back event was recorded (0: none held back).',
      registers: [registry],
    }),
  };
}

/** The long polls on GET /feed waiting for a commit, read from `waiting` at each scrape. */
export function registerFeedWaitersGauge(registry: Registry, waiting: () => number): void {
  new Gauge({
    name: 'feed_long_polls_waiting',
    help: 'GET /feed requests waiting for the next commit.',
    registers: [registry],
    collect() {
      this.set(waiting());
    },
  });
}
