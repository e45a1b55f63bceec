// The main thread's side of the writer: hands appends and erasures to the writer thread
// (writer-thread.ts) and resolves each once its commit is durable. It also wakes /feed long-polls
// on every commit.
import { Worker } from 'node:worker_threads';
import type { DatabaseSettings } from '@learning-analytics/common';
import type { LoggerMetrics } from '../metrics.js';
import type { NewEvent, StoredEvent } from '../domain/events.js';
import {
  toWireEvent,
  type FromWriterThread,
  type ToWriterThread,
  type WireEvent,
  type WireOutcome,
  type WriterThreadOptions,
} from './writer-protocol.js';
import type { ErasureResult } from './erase-student.js';

export type AppendOutcome =
  { status: 'created'; event: StoredEvent } | { status: 'duplicate'; event: StoredEvent } | { status: 'conflict'; event: StoredEvent };

type Pending =
  | { kind: 'append'; events: NewEvent[]; resolve: (outcomes: AppendOutcome[]) => void; reject: (err: unknown) => void }
  | { kind: 'erase'; resolve: (result: ErasureResult) => void; reject: (err: unknown) => void }
  | { kind: 'probe'; resolve: () => void; reject: (err: unknown) => void };

export class EventWriter {
  /** Sent to the writer thread, oldest first: its replies settle them in this order. */
  private readonly inFlight: Pending[] = [];
  /** Appended during this turn of the event loop, sent together at its end. */
  private outbox: WireEvent[][] = [];
  private readonly commitWaiters = new Set<() => void>();
  private idle: (() => void) | undefined;
  private failure: Error | undefined;
  /** Why the latest commit failed, until one succeeds again. */
  private lastCommitFailure: string | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly metrics: LoggerMetrics,
    private readonly onFailure: (err: Error) => void,
  ) {
    worker.on('message', (message: FromWriterThread) => this.receive(message));
    worker.on('error', (err: Error) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`the writer thread exited (${code})`)));
  }

  /**
   * Starts the writer thread on `database` (already migrated) and resolves once its connection
   * is open. `onFailure` is told if the thread dies: the service can no longer store anything.
   */
  static async start(database: DatabaseSettings, metrics: LoggerMetrics, onFailure: (err: Error) => void): Promise<EventWriter> {
    const options: WriterThreadOptions = { database };
    // No --import: telemetry belongs to the main thread, where the requests are.
    const worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData: options, execArgv: [] });
    await new Promise<void>((ready, failed) => {
      const untilReady = (message: FromWriterThread) => {
        if (message?.kind !== 'ready') return;
        worker.off('message', untilReady);
        ready();
      };
      worker.on('message', untilReady);
      worker.once('error', failed);
      worker.once('exit', (code) => failed(new Error(`the writer thread exited (${code}) before it was ready`)));
    });
    return new EventWriter(worker, metrics, onFailure);
  }

  /**
   * Stores the events atomically: all of them, or none when any event_id is already stored with
   * different content (then the outcomes say which). Resolves after the commit is durable.
   */
  append(events: NewEvent[]): Promise<AppendOutcome[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.inFlight.push({ kind: 'append', events, resolve, reject });
      if (this.outbox.length === 0) setImmediate(() => this.flush());
      this.outbox.push(events.map(toWireEvent));
    });
  }

  /**
   * Deletes every event of the student and, when there were any, appends an erasure marker to the
   * feed, in one transaction ordered after every append made before the call. Resolves once durable.
   */
  erase(userId: string): Promise<ErasureResult> {
    if (this.failure) return Promise.reject(this.failure);
    this.flush();
    return new Promise((resolve, reject) => {
      this.inFlight.push({ kind: 'erase', resolve, reject });
      this.send({ kind: 'erase', userId, erasedAt: Date.now() });
    });
  }

  /**
   * Whether a write can commit now. After a failed commit it writes the probe row (through the
   * same queue, connection and disk as the events) and throws when that fails too; otherwise it
   * resolves at once.
   */
  async checkWritable(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.lastCommitFailure === undefined) return;
    this.flush();
    await new Promise<void>((resolve, reject) => {
      this.inFlight.push({ kind: 'probe', resolve, reject });
      this.send({ kind: 'probe' });
    }).catch((err: Error) => {
      throw new Error(`the last commit failed and a probe write fails too: ${err.message}`);
    });
  }

  /**
   * A wait that ends at the next commit that stores an event, after `timeoutMs`, when released, or
   * when cancelled, whichever comes first. Every way out removes it: call `cancel` once done with it.
   */
  waitForCommit(timeoutMs: number): { ended: Promise<void>; cancel: () => void } {
    let cancel!: () => void;
    const ended = new Promise<void>((resolve) => {
      cancel = () => {
        clearTimeout(timer);
        this.commitWaiters.delete(cancel);
        resolve();
      };
      const timer = setTimeout(cancel, timeoutMs);
      this.commitWaiters.add(cancel);
    });
    return { ended, cancel };
  }

  /** Long polls waiting for a commit right now. */
  get waiting(): number {
    return this.commitWaiters.size;
  }

  /** Wakes every waitForCommit caller now. */
  releaseWaiters(): void {
    for (const done of [...this.commitWaiters]) done();
  }

  /** Resolves once everything appended so far is committed and the writer thread has stopped. */
  async close(): Promise<void> {
    if (this.inFlight.length > 0 && !this.failure) await new Promise<void>((done) => (this.idle = done));
    if (this.failure) return;
    this.worker.removeAllListeners('exit');
    const closed = new Promise<void>((done) => this.worker.once('exit', () => done()));
    this.send({ kind: 'close' });
    await closed;
  }

  private flush(): void {
    const appends = this.outbox;
    this.outbox = [];
    if (appends.length > 0) this.send({ kind: 'append', appends });
  }

  private send(message: ToWriterThread): void {
    this.worker.postMessage(message);
  }

  // Node itself may post to a worker's parent too (watch mode reports every module a thread
  // loads): whatever is not a reply of the writer protocol is ignored.
  private receive(message: FromWriterThread): void {
    if (message?.kind === 'committed' || message?.kind === 'erased' || message?.kind === 'probed') this.lastCommitFailure = undefined;
    if (message?.kind === 'committed') {
      for (const wire of message.outcomes) {
        const append = this.inFlight.shift() as Extract<Pending, { kind: 'append' }>;
        append.resolve(wire.map((outcome, i) => fromWire(outcome, append.events[i]!)));
      }
      this.metrics.commitDuration.observe(message.seconds);
      this.metrics.writeBatchSize.observe(message.inserted);
      // A commit of retried duplicates only stored nothing: the feed has nothing new to show.
      if (message.inserted > 0) this.releaseWaiters();
    } else if (message?.kind === 'erased') {
      const erasure = this.inFlight.shift() as Extract<Pending, { kind: 'erase' }>;
      erasure.resolve({ eventsDeleted: message.eventsDeleted, markerSeq: message.markerSeq });
      if (message.markerSeq !== undefined) this.releaseWaiters();
    } else if (message?.kind === 'probed') {
      (this.inFlight.shift() as Extract<Pending, { kind: 'probe' }>).resolve();
    } else if (message?.kind === 'failed') {
      this.lastCommitFailure = message.message;
      const err = Object.assign(new Error(message.message), message.code ? { code: message.code } : {});
      for (const request of this.inFlight.splice(0, message.requests)) request.reject(err);
    }
    if (this.inFlight.length === 0) this.idle?.();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const request of this.inFlight.splice(0)) request.reject(err);
    this.idle?.();
    this.onFailure(err);
  }
}

function fromWire(outcome: WireOutcome, event: NewEvent): AppendOutcome {
  return typeof outcome === 'number' ? { status: 'created', event: { ...event, seq: outcome } } : outcome;
}
