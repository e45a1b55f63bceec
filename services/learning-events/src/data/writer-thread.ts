// The writer thread: owns the database connection that stores events. Whatever appends arrived
// while the previous commit ran are folded into the next transaction (group commit), and each is
// answered only after that commit is durable (WAL, synchronous=FULL).
//
// Committing here rather than on the main thread keeps SQLite's page writes, checkpoints and
// fsync waits off the event loop that parses and answers requests, and lets the two overlap on
// two cores. One writer also keeps seq order equal to commit order, which /feed relies on.
import { parentPort, workerData } from 'node:worker_threads';
import { commitGroup } from './group-commit.js';
import { eraseStudent } from './erase-student.js';
import { databaseEngine, errorCode, isTransientDatabaseError, openDatabase } from '@learning-analytics/common';
import { openSqliteEventWrites } from './sqlite-event-writes.js';
import { pgEventWrites } from './pg-event-writes.js';
import type { ErasureRequest, FromWriterThread, ToWriterThread, WireEvent, WriterThreadOptions } from './writer-protocol.js';

/** Upper bound on events per transaction, so one commit never holds the database for long. */
const MAX_EVENTS_PER_COMMIT = 10_000;

const port = parentPort!;
const { database } = workerData as WriterThreadOptions;
const db = databaseEngine(database.url) === 'sqlite' ? openSqliteEventWrites(database.url) : pgEventWrites(openDatabase(database));
/** Appends, erasures and write probes in arrival order; consecutive appends share a commit, the others have their own. */
const queue: Array<WireEvent[] | ErasureRequest | { kind: 'probe' }> = [];
let draining: Promise<void> | undefined;

const send = (message: FromWriterThread) => port.postMessage(message);

port.on('message', (message: ToWriterThread) => {
  if (message.kind === 'append' || message.kind === 'erase' || message.kind === 'probe') {
    if (message.kind === 'append') queue.push(...message.appends);
    else queue.push(message);
    draining ??= new Promise<void>((next) => setImmediate(next)).then(drain);
  } else if (message?.kind === 'close') {
    void close();
  }
});

async function drain(): Promise<void> {
  while (queue.length > 0) {
    const next = queue[0]!;
    if (!Array.isArray(next)) {
      queue.shift();
      await settle(1, async () => {
        if (next.kind === 'probe') {
          await db.probeWrite(Date.now());
          send({ kind: 'probed' });
          return;
        }
        const { eventsDeleted, markerSeq } = await eraseStudent(db, next.userId, next.erasedAt);
        send({ kind: 'erased', eventsDeleted, markerSeq });
      });
      continue;
    }
    await commitAppends(takeGroup());
  }
  draining = undefined;
}

/**
 * Commits the appends together. When that fails for a reason of one append's own (a value the
 * database refuses, say), each is committed alone, so only the failing one is answered as failed;
 * when the database itself cannot write (locked, full, I/O), every one of them is.
 */
async function commitAppends(group: WireEvent[][], raced = false): Promise<void> {
  const started = process.hrtime.bigint();
  try {
    const { outcomes, inserted } = await commitGroup(db, group);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    send({ kind: 'committed', outcomes, inserted, seconds });
  } catch (err) {
    // Another writer (a second replica on PostgreSQL) committed one of these event_ids between
    // this group's lookup and its insert: once more, and the lookup finds it.
    if (!raced && errorCode(err) === UNIQUE_VIOLATION) return commitAppends(group, true);
    if (group.length === 1 || failsEveryWrite(err)) {
      sendFailed(group.length, err);
      return;
    }
    for (const append of group) await commitAppends([append]);
  }
}

/** PostgreSQL's SQLSTATE for a duplicate key; SQLite never reports it: its one writer looked first. */
const UNIQUE_VIOLATION = '23505';

/** SQLite's and PostgreSQL's (disk full, I/O error, read-only) failures of the database as a whole, beyond the transient ones. */
const DATABASE_WIDE_FAILURES = /^(SQLITE_(LOCKED|FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOMEM)|53100|58030|25006)/;

function failsEveryWrite(err: unknown): boolean {
  return isTransientDatabaseError(err) || DATABASE_WIDE_FAILURES.test(errorCode(err) ?? '');
}

/** Runs `work`, which answers `requests` queued requests; when it throws, they are answered as failed. */
async function settle(requests: number, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    sendFailed(requests, err);
  }
}

function sendFailed(requests: number, err: unknown): void {
  const { message, code } = err as Error & { code?: unknown };
  send({ kind: 'failed', requests, message, ...(typeof code === 'string' ? { code } : {}) });
}

/** The appends at the head of the queue, up to the first other request and MAX_EVENTS_PER_COMMIT events. */
function takeGroup(): WireEvent[][] {
  let count = 0;
  let take = 0;
  for (; take < queue.length; take += 1) {
    const append = queue[take]!;
    if (!Array.isArray(append) || (take > 0 && count + append.length > MAX_EVENTS_PER_COMMIT)) break;
    count += append.length;
  }
  return queue.splice(0, take) as WireEvent[][];
}

async function close(): Promise<void> {
  while (draining) await draining;
  await db.close();
  port.close(); // nothing else keeps the thread alive: it exits
}

// The connection is open, its pragmas applied and its statements prepared: the service may start.
send({ kind: 'ready' });
