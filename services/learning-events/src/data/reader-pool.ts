// The main thread's side of the reader threads (reader-thread.ts): hands each read to an idle
// thread, or queues it until one is free, and resolves it with the thread's answer.
import { Worker } from 'node:worker_threads';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { databaseEngine, type DatabaseSettings } from '@learning-analytics/common';
import type { FromReaderThread, ReadRequest, ReadResults, ReaderThreadOptions, ToReaderThread } from './reader-protocol.js';

type Result<K extends ReadRequest['kind']> = ReadResults[K];

const tracer = trace.getTracer('learning-events');

interface Read {
  id: number;
  request: ReadRequest;
  resolve: (result: never) => void;
  reject: (err: Error) => void;
}

class ReaderThread {
  /** The read this thread is answering, if any. */
  current: Read | undefined;

  constructor(readonly worker: Worker) {}
}

export class ReaderPool {
  private readonly queue: Read[] = [];
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(
    private readonly threads: ReaderThread[],
    private readonly engine: string,
    private readonly onFailure: (err: Error) => void,
  ) {
    for (const thread of threads) {
      thread.worker.on('message', (message: FromReaderThread) => this.receive(thread, message));
      thread.worker.on('error', (err: Error) => this.fail(err));
      thread.worker.on('exit', (code) => this.fail(new Error(`a reader thread exited (${code})`)));
    }
  }

  /**
   * Starts `count` reader threads on `database` (already migrated), each with its own read-only
   * connection, and resolves once all are open. `onFailure` is told if one dies.
   */
  static async start(database: DatabaseSettings, count: number, onFailure: (err: Error) => void): Promise<ReaderPool> {
    const options: ReaderThreadOptions = { database };
    const workers = await Promise.all(
      Array.from({ length: count }, async () => {
        const worker = new Worker(new URL('./reader-thread.js', import.meta.url), { workerData: options, execArgv: [] });
        await new Promise<void>((ready, failed) => {
          const untilReady = (message: FromReaderThread) => {
            if (!('kind' in message) || message.kind !== 'ready') return;
            worker.off('message', untilReady);
            ready();
          };
          worker.on('message', untilReady);
          worker.once('error', failed);
          worker.once('exit', (code) => failed(new Error(`a reader thread exited (${code}) before it was ready`)));
        });
        worker.removeAllListeners('error').removeAllListeners('exit');
        return worker;
      }),
    );
    const engine = databaseEngine(database.url) === 'postgres' ? 'postgresql' : 'sqlite';
    return new ReaderPool(
      workers.map((worker) => new ReaderThread(worker)),
      engine,
      onFailure,
    );
  }

  /**
   * Runs the read on a reader thread. Its database span is made here, in the request's trace: the
   * thread's own queries are not instrumented (telemetry belongs to the main thread).
   */
  read<K extends ReadRequest['kind']>(request: Extract<ReadRequest, { kind: K }>): Promise<Result<K>> {
    const attributes = {
      'db.system.name': this.engine,
      'db.operation.name': 'select',
      'db.collection.name': 'events',
      'db.query.summary': request.kind,
    };
    return tracer.startActiveSpan(`select events (${request.kind})`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        return await this.onThread(request);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw err;
      } finally {
        span.end();
      }
    });
  }

  private onThread<K extends ReadRequest['kind']>(request: Extract<ReadRequest, { kind: K }>): Promise<Result<K>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Result<K>>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, request, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every thread once the reads in progress are answered. */
  async close(): Promise<void> {
    await Promise.all(
      this.threads.map(async ({ worker }) => {
        worker.removeAllListeners('exit');
        const exited = new Promise<void>((done) => worker.once('exit', () => done()));
        worker.postMessage({ kind: 'close' } satisfies ToReaderThread);
        await exited;
      }),
    );
  }

  private dispatch(): void {
    for (const thread of this.threads) {
      if (this.queue.length === 0) return;
      if (thread.current) continue;
      const read = this.queue.shift()!;
      thread.current = read;
      thread.worker.postMessage({ id: read.id, request: read.request } satisfies ToReaderThread);
    }
  }

  // Whatever is not a reply to the thread's current read (Node's own messages in watch mode) is ignored.
  private receive(thread: ReaderThread, message: FromReaderThread): void {
    const read = thread.current;
    if (!read || !('id' in message) || message.id !== read.id) return;
    thread.current = undefined;
    if ('result' in message) read.resolve(message.result as never);
    else read.reject(Object.assign(new Error(message.error.message), message.error.code ? { code: message.error.code } : {}));
    this.dispatch();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const read of [...this.queue.splice(0), ...this.threads.flatMap((thread) => thread.current ?? [])]) read.reject(err);
    this.onFailure(err);
  }
}
