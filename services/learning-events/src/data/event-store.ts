// The events table through knex: every read, and the insert statement's text. Rows are immutable
// once inserted; the writer thread stores them through sqlite-event-writes.ts.
import { engineOf, feedPosition, type Knex } from '@learning-analytics/common';
import type { StoredEvent } from '../domain/events.js';

interface EventRow {
  seq: number | string;
  event_id: string;
  user_id: string;
  event_type: string;
  concept_id: string;
  event_details: string;
  occurred_at: number | string;
  recorded_at: number | string;
  /** The writing transaction's number: 0 on SQLite (see migration 005_feed_positions). */
  txid: number | string;
}

const columns = ['seq', 'event_id', 'user_id', 'event_type', 'concept_id', 'event_details', 'occurred_at', 'recorded_at', 'txid'] as const;

/** Rows per INSERT statement: 1,000 rows of 7 values stay below every engine's parameter limit. */
export const ROWS_PER_INSERT = 1000;

// PostgreSQL returns bigint columns as strings; SQLite as numbers. Both fit a double exactly here.
export function eventFromRow(row: EventRow): StoredEvent {
  return {
    seq: Number(row.seq),
    event_id: row.event_id,
    user_id: row.user_id,
    event_type: row.event_type,
    concept_id: row.concept_id,
    event_details: JSON.parse(row.event_details) as Record<string, unknown>,
    occurred_at: Number(row.occurred_at),
    recorded_at: Number(row.recorded_at),
  };
}

const INSERT_SQL = 'insert into events (event_id, user_id, event_type, concept_id, event_details, occurred_at, recorded_at) values';

/** The statement that reads the stored events among `ids` event_ids, every column. */
export function findEventsSql(ids: number): string {
  return `select ${columns.join(', ')} from events where event_id in (${Array.from({ length: ids }, () => '?').join(', ')})`;
}

/**
 * The statement that inserts `rows` events and returns each one's seq and event_id: one multi-row
 * VALUES list, plain SQL that SQLite and PostgreSQL both accept.
 */
export function insertEventsSql(rows: number): string {
  return `${INSERT_SQL} ${valuesPlaceholders(rows)} returning seq, event_id`;
}

const placeholderLists = new Map<number, string>();
function valuesPlaceholders(rows: number): string {
  let list = placeholderLists.get(rows);
  if (list === undefined) {
    list = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ');
    placeholderLists.set(rows, list);
  }
  return list;
}

/** The highest committed seq, of an event or an erasure marker (an erasure may delete the newest events). */
export async function headSeq(db: Knex): Promise<number> {
  return (await readSnapshot(db)).seq;
}

/**
 * What one read saw: the highest seq, and on PostgreSQL the transaction snapshot it was read in
 * (pg_current_snapshot(): transactions below xmin had ended, those from xmax on had not begun, xip
 * were in progress). On SQLite the one writer commits in seq order, so seq <= seq is the snapshot.
 */
export interface ReadSnapshot {
  seq: number;
  transactions?: { xmin: string; xmax: string; xip: string[] };
}

export async function readSnapshot(db: Knex): Promise<ReadSnapshot> {
  const head = '(select coalesce(max(seq), 0) from events), (select coalesce(max(seq), 0) from erasures)';
  if (engineOf(db) === 'sqlite') {
    const [row] = (await db.raw(`select max(${head}) as seq`)) as [{ seq: number }];
    return { seq: Number(row.seq) };
  }
  const { rows } = await db.raw<{ rows: [{ seq: string; snapshot: string }] }>(
    `select greatest(${head}) as seq, pg_current_snapshot()::text as snapshot`,
  );
  const [xmin, xmax, xip] = rows[0].snapshot.split(':') as [string, string, string];
  return { seq: Number(rows[0].seq), transactions: { xmin, xmax, xip: xip === '' ? [] : xip.split(',') } };
}

/** Rows visible in `snapshot`: committed by then (every row that exists is committed). */
function visibleIn(query: Knex.QueryBuilder, snapshot: ReadSnapshot): void {
  void query.andWhere('seq', '<=', snapshot.seq);
  const { transactions } = snapshot;
  if (!transactions) return;
  void query.andWhere((visible) => {
    void visible.where('txid', '<', transactions.xmin).orWhere((recent) => {
      void recent.where('txid', '<', transactions.xmax);
      if (transactions.xip.length > 0) void recent.whereNotIn('txid', transactions.xip);
    });
  });
}

/**
 * The feed position up to which `snapshot` holds every event there will ever be: every position
 * at or below it was committed, or rolled back, before the snapshot was taken.
 */
export function settledThrough(snapshot: ReadSnapshot): string {
  return snapshot.transactions ? feedPosition(snapshot.transactions.xmin, 0) : feedPosition(0, snapshot.seq);
}

/**
 * The feed's horizon on PostgreSQL: the oldest transaction still in progress. Every transaction
 * numbered below it has ended, so no row with a lower number can appear any more. Undefined on
 * SQLite, where every committed row is settled.
 */
export async function feedHorizon(db: Knex): Promise<string | undefined> {
  if (engineOf(db) === 'sqlite') return undefined;
  const { rows } = await db.raw<{ rows: [{ xmin: string }] }>('select pg_snapshot_xmin(pg_current_snapshot())::text as xmin');
  return rows[0].xmin;
}

/**
 * On PostgreSQL, refuses a database whose stored transaction numbers are not all below the
 * server's next one: a copy restored onto another server (pg_dump and restore keep the numbers,
 * not the counter) would number new events below old ones, and consumers past the old ones would
 * never see them.
 */
export async function checkTransactionCounter(db: Knex): Promise<void> {
  if (engineOf(db) === 'sqlite') return;
  const { rows } = await db.raw<{ rows: [{ stored: string; next: string }] }>(
    `select greatest((select coalesce(max(txid), 0) from events), (select coalesce(max(txid), 0) from erasures))::text as stored,
            pg_snapshot_xmax(pg_current_snapshot())::text as next`,
  );
  const { stored, next } = rows[0];
  if (BigInt(stored) >= BigInt(next)) {
    throw new Error(
      `stored events carry transaction number ${stored}, but this server's next one is ${next}: was the database restored onto ` +
        'another server? The feed would hand out new events before old ones. Advance the counter past it first (see the README, PostgreSQL).',
    );
  }
}

/** A place in the feed (see feedPosition): the writing transaction's number, then the seq. */
export interface FeedCursor {
  txid: string;
  seq: number;
}

/** The rows of `query` after `after` and below `horizon`, up to `upTo` when given, in feed order. */
function feedRange(query: Knex.QueryBuilder, after: FeedCursor, horizon: string | undefined, upTo?: FeedCursor): Knex.QueryBuilder {
  void query.whereRaw('(txid, seq) > (?, ?)', [after.txid, after.seq]);
  if (horizon !== undefined) void query.andWhere('txid', '<', horizon);
  if (upTo) void query.andWhereRaw('(txid, seq) <= (?, ?)', [upTo.txid, upTo.seq]);
  return query.orderBy([{ column: 'txid' }, { column: 'seq' }]);
}

export interface ErasureMarker {
  seq: number;
  position: string;
  user_id_sha256: string;
  events_deleted: number;
  erased_at: string;
}

/** The erasure markers after `after` and below `horizon`, in feed order. */
export async function listErasures(db: Knex, after: FeedCursor, horizon: string | undefined, limit: number): Promise<ErasureMarker[]> {
  const rows = (await feedRange(
    db('erasures').select('seq', 'txid', 'user_id_sha256', 'events_deleted', 'erased_at'),
    after,
    horizon,
  ).limit(limit)) as Array<{
    seq: number | string;
    txid: number | string;
    user_id_sha256: string;
    events_deleted: number | string;
    erased_at: number | string;
  }>;
  return rows.map((row) => ({
    seq: Number(row.seq),
    position: feedPosition(row.txid, Number(row.seq)),
    user_id_sha256: row.user_id_sha256,
    events_deleted: Number(row.events_deleted),
    erased_at: new Date(Number(row.erased_at)).toISOString(),
  }));
}

/** The events after `after` and below `horizon`, up to `upTo` when given, in feed order. */
export async function listFeedPage(
  db: Knex,
  after: FeedCursor,
  horizon: string | undefined,
  upTo: FeedCursor | undefined,
  limit: number,
): Promise<EventRow[]> {
  return (await feedRange(db('events').select(columns), after, horizon, upTo).limit(limit)) as EventRow[];
}

/**
 * What the feed holds back behind a transaction still in progress: committed events at or above
 * the horizon, and when the oldest of them was recorded.
 */
export async function heldBackEvents(db: Knex, horizon: string): Promise<{ count: number; oldestRecordedAt: number | undefined }> {
  const row = (await db('events').where('txid', '>=', horizon).count({ count: '*' }).min({ oldest: 'recorded_at' }).first()) as
    { count: number | string; oldest: number | string | null } | undefined;
  return { count: Number(row?.count ?? 0), oldestRecordedAt: row?.oldest == null ? undefined : Number(row.oldest) };
}

export interface TimelineFilter {
  userId: string;
  conceptId?: string | undefined;
  eventType?: string | undefined;
  sinceMs?: number | undefined;
  untilMs?: number | undefined;
  /** Only the events up to the listing's settledThrough position. */
  settled?: boolean | undefined;
}

/** Where a timeline page starts: after this (time, seq) position, among the events visible in the listing's snapshot. */
export interface TimelinePosition {
  afterOccurredAt?: number;
  afterSeq?: number;
  snapshot: ReadSnapshot;
}

/** One page of a student's timeline, oldest first (time, then seq), as raw rows ready to serialize. */
export async function listTimelinePage(db: Knex, filter: TimelineFilter, position: TimelinePosition, limit: number): Promise<EventRow[]> {
  const query = db('events')
    .select(columns)
    .where('user_id', filter.userId)
    .orderBy([
      { column: 'occurred_at', order: 'asc' },
      { column: 'seq', order: 'asc' },
    ])
    .limit(limit);
  visibleIn(query, position.snapshot);
  const { transactions } = position.snapshot;
  if (filter.settled && transactions) query.andWhere('txid', '<', transactions.xmin);
  if (filter.conceptId !== undefined) query.andWhere('concept_id', filter.conceptId);
  if (filter.eventType !== undefined) query.andWhere('event_type', filter.eventType);
  if (filter.sinceMs !== undefined) query.andWhere('occurred_at', '>=', filter.sinceMs);
  if (filter.untilMs !== undefined) query.andWhere('occurred_at', '<', filter.untilMs);
  if (position.afterOccurredAt !== undefined && position.afterSeq !== undefined) {
    query.andWhereRaw('(occurred_at, seq) > (?, ?)', [position.afterOccurredAt, position.afterSeq]);
  }
  return (await query) as EventRow[];
}

export type { EventRow };

/**
 * Serializes a row straight to the API's JSON without re-parsing event_details: timelines of a
 * hundred thousand events stream in well under a second this way.
 */
export function eventRowJson(row: EventRow): string {
  return (
    `{"event_id":${JSON.stringify(row.event_id)},"user_id":${JSON.stringify(row.user_id)}` +
    `,"event_type":${JSON.stringify(row.event_type)},"concept_id":${JSON.stringify(row.concept_id)}` +
    `,"event_details":${row.event_details}` +
    `,"timestamp":"${new Date(Number(row.occurred_at)).toISOString()}"` +
    `,"recorded_at":"${new Date(Number(row.recorded_at)).toISOString()}","seq":${Number(row.seq)}}`
  );
}

/** An event as the feed lists it: with its position. */
export function feedEventJson(row: EventRow): string {
  return `${eventRowJson(row).slice(0, -1)},"position":"${feedPosition(row.txid, Number(row.seq))}"}`;
}
