// The writer thread: owns the database connection that stores events. Whatever appends arrived
// while the previous commit ran are folded into the next transaction (group commit), and each is
// answered only after that commit is durable (WAL, synchronous=FULL).
//
// Committing here rather than on the main thread keeps SQLite's page writes, checkpoints and
// fsync waits off the event loop that parses and answers requests, and lets the two overlap on
// two cores. One writer also keeps seq order equal to commit order, which /feed relies on.
import { parentPort, workerData } from 'node:worker_threads';
import { commitGroup } from './group-commit.js';
import { openSqliteEventWrites } from './sqlite-event-writes.js';
import type { FromWriterThread, ToWriterThread, WireEvent, WriterThreadOptions } from './writer-protocol.js';

/** Upper bound on events per transaction, so one commit never holds the database for long. */
const MAX_EVENTS_PER_COMMIT = 10_000;

const port = parentPort!;
const { databaseUrl } = workerData as WriterThreadOptions;
const db = openSqliteEventWrites(databaseUrl);
const queue: WireEvent[][] = [];
let draining: Promise<void> | undefined;

const send = (message: FromWriterThread) => port.postMessage(message);

port.on('message', (message: ToWriterThread) => {
  if (message.kind === 'append') {
    queue.push(...message.appends);
    draining ??= new Promise<void>((next) => setImmediate(next)).then(drain);
  } else if (message?.kind === 'close') {
    void close();
  }
});

async function drain(): Promise<void> {
  while (queue.length > 0) {
    const group = takeGroup();
    const started = process.hrtime.bigint();
    try {
      const { outcomes, inserted } = await commitGroup(db, group);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      send({ kind: 'committed', outcomes, inserted, seconds });
    } catch (err) {
      const { message, code } = err as Error & { code?: string };
      send({ kind: 'failed', appends: group.length, message, ...(typeof code === 'string' ? { code } : {}) });
    }
  }
  draining = undefined;
}

function takeGroup(): WireEvent[][] {
  let count = 0;
  let take = 0;
  while (take < queue.length && (take === 0 || count + queue[take]!.length <= MAX_EVENTS_PER_COMMIT)) {
    count += queue[take]!.length;
    take += 1;
  }
  return queue.splice(0, take);
}

async function close(): Promise<void> {
  while (draining) await draining;
  await db.close();
  port.close(); // nothing else keeps the thread alive: it exits
}

// The connection is open, its pragmas applied and its statements prepared: the service may start.
send({ kind: 'ready' });
