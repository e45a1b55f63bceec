// The writer thread: owns the database connection that writes events and runs the group commit.
// A durable commit blocks on fsync; here that blocks only this thread, while the main thread keeps
// parsing and answering requests.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '@learning-analytics/common';
import { GroupCommit, type AppendOutcome, type CommitStats } from './group-commit.js';
import type { NewEvent } from '../domain/events.js';

export type WriterRequest = { type: 'append'; id: number; events: NewEvent[] } | { type: 'close' };

export type WriterMessage =
  | { type: 'appended'; id: number; outcomes: AppendOutcome[] }
  | { type: 'failed'; id: number; message: string }
  | { type: 'committed'; stats: CommitStats }
  | { type: 'closed' };

const port = parentPort!;
const db = openDatabase((workerData as { databaseUrl: string }).databaseUrl);
const post = (message: WriterMessage) => port.postMessage(message);
const groupCommit = new GroupCommit(db, (stats) => post({ type: 'committed', stats }));

port.on('message', (request: WriterRequest) => {
  if (request.type === 'close') {
    void groupCommit
      .close()
      .then(() => db.destroy())
      .then(() => post({ type: 'closed' }));
    return;
  }
  groupCommit.append(request.events).then(
    (outcomes) => post({ type: 'appended', id: request.id, outcomes }),
    (err: unknown) => post({ type: 'failed', id: request.id, message: (err as Error).message }),
  );
});
