// The messages between the ReaderPool (main thread) and its reader threads. Each request carries
// an id, and its reply names it: a thread answers one request at a time, but the pool has several.
import type { DatabaseSettings } from '@learning-analytics/common';
import type { FeedCursor, ReadSnapshot, TimelineFilter, TimelinePosition } from './event-store.js';
import type { FeedPage, TimelinePage } from './event-reads.js';

export interface ReaderThreadOptions {
  database: DatabaseSettings;
}

export type ReadRequest =
  | { kind: 'snapshot' }
  | { kind: 'timelinePage'; filter: TimelineFilter; position: TimelinePosition; limit: number }
  | { kind: 'feedPage'; after: FeedCursor; limit: number };

export interface ReadResults {
  snapshot: ReadSnapshot;
  timelinePage: TimelinePage;
  feedPage: FeedPage;
}

export type ToReaderThread = { id: number; request: ReadRequest } | { kind: 'close' };

export type FromReaderThread =
  { kind: 'ready' } | { id: number; result: ReadResults[ReadRequest['kind']] } | { id: number; error: { message: string; code?: string } };
