// The reads the API answers with, each one bounded page of serialized events: a timeline page and
// a feed page. They run on a reader thread (reader-thread.ts), so their rows are fetched and turned
// into JSON away from the event loop that answers requests; only the JSON's bytes cross back, moved
// rather than copied, ready to be written to the socket.
import type { Knex } from '@learning-analytics/common';
import { readEventPage } from './bounded-page.js';
import {
  headSeq,
  listErasures,
  listFeedPage,
  listTimelinePage,
  type ErasureMarker,
  type EventRow,
  type TimelineFilter,
  type TimelinePosition,
} from './event-store.js';

/** A page of events: the JSON of each, comma-joined, in UTF-8 (wrap in [ ] to make the array). */
export interface SerializedPage {
  json: Uint8Array;
  count: number;
  /** Whether events follow this page. */
  more: boolean;
}

export interface TimelinePage extends SerializedPage {
  /** Where the next page starts: just after the page's last event (absent on an empty page). */
  next: Required<TimelinePosition> | undefined;
}

export interface FeedPage {
  events: SerializedPage & { lastSeq: number | undefined };
  erasures: ErasureMarker[];
  head: number;
}

// Each encoding has a buffer of its own (never a shared pool's), so it can be moved to another thread.
const utf8 = new TextEncoder();

/** Up to `limit` events of the timeline from `position` (at most MAX_PAGE_CHARS of JSON). */
export async function readTimelinePage(db: Knex, filter: TimelineFilter, position: TimelinePosition, limit: number): Promise<TimelinePage> {
  const { json, count, more, last } = await readEventPage(limit, (after, n) =>
    listTimelinePage(db, filter, after ? positionAfter(after, position.snapshotSeq) : position, n),
  );
  return { json: utf8.encode(json), count, more, next: last ? positionAfter(last, position.snapshotSeq) : undefined };
}

/** The timeline position just after `row`, within the listing's seq snapshot. */
function positionAfter(row: EventRow, snapshotSeq: number): Required<TimelinePosition> {
  return { afterOccurredAt: Number(row.occurred_at), afterSeq: Number(row.seq), snapshotSeq };
}

/**
 * The events and erasure markers after `after`, in seq order: up to `limit` of each, covering one
 * seq range with nothing left out inside it. The head is read first; every seq up to it is
 * committed (one writer assigns them in commit order), so both reads, bounded by it, see the same
 * range.
 */
export async function readFeedPage(db: Knex, after: number, limit: number): Promise<FeedPage> {
  const head = await headSeq(db);
  let erasures = await listErasures(db, after, head, limit);
  const end = erasures.length === limit ? erasures.at(-1)!.seq : head;
  const { json, count, more, last } = await readEventPage(limit, (lastRow, n) =>
    listFeedPage(db, lastRow ? Number(lastRow.seq) : after, end, n),
  );
  const lastSeq = last ? Number(last.seq) : undefined;
  if (more) erasures = erasures.filter((marker) => marker.seq <= lastSeq!);
  return { events: { json: utf8.encode(json), count, more, lastSeq }, erasures, head };
}
