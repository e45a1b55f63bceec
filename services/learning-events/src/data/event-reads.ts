// The reads the API answers with, each one bounded page of serialized events: a timeline page and
// a feed page. They run on a reader thread (reader-thread.ts), so their rows are fetched and turned
// into JSON away from the event loop that answers requests; only the JSON's bytes cross back, moved
// rather than copied, ready to be written to the socket.
import { feedPosition, parseFeedPosition, type Knex } from '@learning-analytics/common';
import { readEventPage } from './bounded-page.js';
import {
  eventRowJson,
  feedEventJson,
  feedHorizon,
  headSeq,
  heldBackEvents,
  listErasures,
  listFeedPage,
  listTimelinePage,
  type ErasureMarker,
  type EventRow,
  type FeedCursor,
  type ReadSnapshot,
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
  events: SerializedPage;
  erasures: ErasureMarker[];
  /** The position of the page's last event or marker; undefined on an empty page. */
  last: string | undefined;
  head: number;
  /** Committed events the feed holds back behind a transaction still in progress (PostgreSQL). */
  heldBack: { count: number; oldestRecordedAt: number | undefined };
}

// Each encoding has a buffer of its own (never a shared pool's), so it can be moved to another thread.
const utf8 = new TextEncoder();

/** Up to `limit` events of the timeline from `position` (at most MAX_PAGE_CHARS of JSON). */
export async function readTimelinePage(db: Knex, filter: TimelineFilter, position: TimelinePosition, limit: number): Promise<TimelinePage> {
  const { json, count, more, last } = await readEventPage(
    limit,
    (after, n) => listTimelinePage(db, filter, after ? positionAfter(after, position.snapshot) : position, n),
    eventRowJson,
  );
  return { json: utf8.encode(json), count, more, next: last ? positionAfter(last, position.snapshot) : undefined };
}

/** The timeline position just after `row`, within the listing's snapshot. */
function positionAfter(row: EventRow, snapshot: ReadSnapshot): Required<TimelinePosition> {
  return { afterOccurredAt: Number(row.occurred_at), afterSeq: Number(row.seq), snapshot };
}

const cursorOf = (item: { txid: number | string; seq: number | string }): FeedCursor => ({
  txid: String(item.txid),
  seq: Number(item.seq),
});

/**
 * The events and erasure markers after `after`, in feed order: up to `limit` of each, covering one
 * range of positions with nothing left out inside it. The range ends below the horizon, which
 * never moves back: every position up to it is final, so both reads see the same range.
 */
export async function readFeedPage(db: Knex, after: FeedCursor, limit: number): Promise<FeedPage> {
  const horizon = await feedHorizon(db);
  let erasures = await listErasures(db, after, horizon, limit);
  const lastErasure = erasures.at(-1);
  const end = erasures.length === limit && lastErasure ? markerCursor(lastErasure) : undefined;
  const { json, count, more, last } = await readEventPage(
    limit,
    (lastRow, n) => listFeedPage(db, lastRow ? cursorOf(lastRow) : after, horizon, end, n),
    feedEventJson,
  );
  const lastEvent = last ? feedPosition(last.txid, Number(last.seq)) : undefined;
  if (more) erasures = erasures.filter((marker) => marker.position <= lastEvent!);
  const lastMarker = erasures.at(-1)?.position;
  const lastItem = lastEvent !== undefined && (lastMarker === undefined || lastEvent > lastMarker) ? lastEvent : lastMarker;
  // Read after the page, so that head_seq covers every seq on it.
  const [head, heldBack] = await Promise.all([
    headSeq(db),
    horizon === undefined ? { count: 0, oldestRecordedAt: undefined } : heldBackEvents(db, horizon),
  ]);
  return { events: { json: utf8.encode(json), count, more }, erasures, last: lastItem, head, heldBack };
}

const markerCursor = (marker: ErasureMarker): FeedCursor => parseFeedPosition(marker.position)!;
