// The Concept Mastery Service's own metrics, on the service registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface MasteryMetrics {
  recomputeDuration: Histogram;
  recomputeEvents: Counter<'outcome'>;
  clientRequests: Counter<'status'>;
  clientRetries: Counter;
  feedLagEvents: Gauge;
  feedLagSeconds: Gauge;
  feedCursor: Gauge;
  feedEvents: Counter<'outcome'>;
  feedFailures: Counter<'reason'>;
  feedRefolds: Counter;
  feedDeadLetters: Counter;
  feedHeadBehindCursor: Gauge;
  feedConsumerActive: Gauge;
}

export function createMasteryMetrics(registry: Registry): MasteryMetrics {
  const metrics: MasteryMetrics = {
    recomputeDuration: new Histogram({
      name: 'mastery_recompute_duration_seconds',
      help: 'Duration of POST /mastery/recompute, from the first history page to the commit (failed ones included).',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    recomputeEvents: new Counter({
      name: 'mastery_recompute_events_total',
      help: 'Events folded by successful recomputes, by outcome: passed, failed, or the reason it was skipped.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    clientRequests: new Counter({
      name: 'learning_events_client_requests_total',
      help: 'HTTP attempts to the Learning Events Service, by HTTP status or error (timeout, network_error, aborted).',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    clientRetries: new Counter({
      name: 'learning_events_client_retries_total',
      help: 'Attempts to the Learning Events Service that were retries of a failed one.',
      registers: [registry],
    }),
    feedLagEvents: new Gauge({
      name: 'mastery_feed_lag_events',
      help: "About how many events the real-time consumer has still to apply: the Logger's head seq minus the seq of the newest item applied, 0 once a page comes back empty (caught up). Only the replica consuming reports it; the others 0.",
      registers: [registry],
    }),
    feedLagSeconds: new Gauge({
      name: 'mastery_feed_lag_seconds',
      help: 'When behind, how long ago the Logger received the newest event applied; 0 when caught up, and on the replicas not consuming.',
      registers: [registry],
    }),
    feedCursor: new Gauge({
      name: 'mastery_feed_cursor_seq',
      help: "The seq part of the feed position the real-time consumer has applied everything up to (the cursor, stored with the records). Positions order by the Logger's transaction first, so with several Logger writers it can step back.",
      registers: [registry],
    }),
    feedEvents: new Counter({
      name: 'mastery_feed_events_total',
      help: 'Feed entries seen by the consumer: applied, already_applied (a recompute had folded it), or erasure (a marker).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    feedHeadBehindCursor: new Gauge({
      name: 'mastery_feed_head_behind_cursor',
      help: "1 while the Logger's head seq is below the seq of the consumer's cursor (its database replaced or restored): alert on it.",
      registers: [registry],
    }),
    feedConsumerActive: new Gauge({
      name: 'mastery_feed_consumer_active',
      help: '1 while this replica runs the real-time consumer (on PostgreSQL: holds its advisory lock). Exactly one replica should: alert when the sum stays 0.',
      registers: [registry],
    }),
    feedDeadLetters: new Counter({
      name: 'mastery_feed_dead_letters_total',
      help: 'Feed events the consumer could not use (malformed) and set aside in dead_letters, so the feed went on.',
      registers: [registry],
    }),
    feedRefolds: new Counter({
      name: 'mastery_feed_refolds_total',
      help: 'Concepts the consumer folded anew from their history because an event arrived back-dated (order-sensitive models).',
      registers: [registry],
    }),
    feedFailures: new Counter({
      name: 'mastery_feed_failures_total',
      help: 'Feed reads or applies that failed, by reason: upstream_refused (the Logger refused the credential), upstream_unavailable, upstream_timeout, upstream_bad_response, internal.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  };
  // Every reason exported at 0 from the start: rate() and increase() miss a series' first sample.
  for (const reason of ['upstream_refused', 'upstream_unavailable', 'upstream_timeout', 'upstream_bad_response', 'internal']) {
    metrics.feedFailures.inc({ reason }, 0);
  }
  return metrics;
}
