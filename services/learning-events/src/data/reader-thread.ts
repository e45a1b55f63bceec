// A reader thread: its own read-only connection, answering one read at a time. Fetching a large
// timeline's rows and serializing them takes the better part of a second of CPU; here it does not
// hold up the event loop that parses requests, answers /health and hands appends to the writer.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '@learning-analytics/common';
import { readFeedPage, readTimelinePage } from './event-reads.js';
import { headSeq, readSnapshot } from './event-store.js';
import type { FromReaderThread, ReadRequest, ReadResults, ReaderThreadOptions, ToReaderThread } from './reader-protocol.js';

const port = parentPort!;
const { database } = workerData as ReaderThreadOptions;
const db = openDatabase(database, { readonly: true });

const send = (message: FromReaderThread) => port.postMessage(message);

function read(request: ReadRequest): Promise<ReadResults[ReadRequest['kind']]> {
  switch (request.kind) {
    case 'snapshot':
      return readSnapshot(db);
    case 'timelinePage':
      return readTimelinePage(db, request.filter, request.position, request.limit);
    case 'feedPage':
      return readFeedPage(db, request.after, request.limit);
  }
}

/** The page's JSON bytes, moved to the main thread instead of copied. */
function transferable(result: ReadResults[ReadRequest['kind']]): ArrayBuffer[] {
  if (!('json' in result) && !('events' in result)) return [];
  const { json } = 'events' in result ? result.events : result;
  return [json.buffer as ArrayBuffer];
}

port.on('message', (message: ToReaderThread) => {
  if ('kind' in message) {
    if (message.kind === 'close') void db.destroy().then(() => port.close());
    return;
  }
  read(message.request).then(
    (result) => port.postMessage({ id: message.id, result } satisfies FromReaderThread, transferable(result)),
    (err: Error & { code?: unknown }) =>
      send({ id: message.id, error: { message: err.message, ...(typeof err.code === 'string' ? { code: err.code } : {}) } }),
  );
});

// The first read opens the connection; doing it now makes a bad database fail the start, not a request.
await headSeq(db);
send({ kind: 'ready' });
