// The main thread's handle on the writer thread: append events and learn when they are durable,
// wait for the next commit (long-polling feed readers), and close after the last request.
import { Worker } from 'node:worker_threads';
import type { Logger } from '@learning-analytics/common';
import type { NewEvent } from '../domain/events.js';
import type { LoggerMetrics } from '../metrics.js';
import type { AppendOutcome } from './group-commit.js';
import type { WriterMessage, WriterRequest } from './writer-thread.js';

export type { AppendOutcome };

export class EventWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (o: AppendOutcome[]) => void; reject: (e: Error) => void }>();
  private readonly commitWaiters = new Set<() => void>();
  private nextId = 1;
  private closed: Promise<void> | undefined;

  constructor(databaseUrl: string, metrics: LoggerMetrics, logger: Logger) {
    // No instrumentation in the writer: its spans would have no request to belong to.
    this.worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData: { databaseUrl }, execArgv: [] });
    this.worker.on('message', (message: WriterMessage) => {
      if (message.type === 'committed') {
        metrics.commitDuration.observe(message.stats.seconds);
        metrics.writeBatchSize.observe(message.stats.inserted);
        this.releaseWaiters();
      } else if (message.type === 'appended' || message.type === 'failed') {
        const request = this.pending.get(message.id)!;
        this.pending.delete(message.id);
        if (message.type === 'appended') request.resolve(message.outcomes);
        else request.reject(new Error(`write failed: ${message.message}`));
      }
    });
    this.worker.on('error', (err) => {
      // Without its writer the service cannot accept events: fail loudly and let it be restarted.
      logger.fatal({ err }, 'writer thread failed');
      process.exit(1);
    });
  }

  /**
   * Stores the events atomically: all of them, or none when any event_id is already stored with
   * different content (then the outcomes say which). Resolves after the commit is durable.
   */
  append(events: NewEvent[]): Promise<AppendOutcome[]> {
    if (this.closed) return Promise.reject(new Error('the writer is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'append', id, events } satisfies WriterRequest);
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

  /** Commits everything appended so far, closes the writer's database and ends the thread. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.worker.on('message', (message: WriterMessage) => {
        if (message.type === 'closed') void this.worker.terminate().then(() => resolve());
      });
      this.worker.postMessage({ type: 'close' } satisfies WriterRequest);
    });
    return this.closed;
  }
}
