// The events table through knex: every read, and the insert statement's text. Rows are immutable
// once inserted; the writer thread stores them through sqlite-event-writes.ts.
import type { Knex } from '@learning-analytics/common';
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
}

const columns = ['seq', 'event_id', 'user_id', 'event_type', 'concept_id', 'event_details', 'occurred_at', 'recorded_at'] as const;

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
  const [events, erasures] = await Promise.all(
    ['events', 'erasures'].map(
      async (table) => (await db(table).max({ head: 'seq' }).first()) as { head: number | string | null } | undefined,
    ),
  );
  return Math.max(Number(events?.head ?? 0), Number(erasures?.head ?? 0));
}

export interface ErasureMarker {
  seq: number;
  user_id_sha256: string;
  events_deleted: number;
  erased_at: string;
}

/** The erasure markers with seq in (afterSeq, upToSeq], oldest first. */
export async function listErasures(db: Knex, afterSeq: number, upToSeq: number, limit: number): Promise<ErasureMarker[]> {
  const rows = (await db('erasures')
    .select('seq', 'user_id_sha256', 'events_deleted', 'erased_at')
    .where('seq', '>', afterSeq)
    .andWhere('seq', '<=', upToSeq)
    .orderBy('seq', 'asc')
    .limit(limit)) as Array<{ seq: number | string; user_id_sha256: string; events_deleted: number | string; erased_at: number | string }>;
  return rows.map((row) => ({
    seq: Number(row.seq),
    user_id_sha256: row.user_id_sha256,
    events_deleted: Number(row.events_deleted),
    erased_at: new Date(Number(row.erased_at)).toISOString(),
  }));
}

export interface TimelineFilter {
  userId: string;
  conceptId?: string | undefined;
  eventType?: string | undefined;
  sinceMs?: number | undefined;
  untilMs?: number | undefined;
}

/** Where a timeline page starts: after this (time, seq) position, among events with seq <= snapshotSeq. */
export interface TimelinePosition {
  afterOccurredAt?: number;
  afterSeq?: number;
  snapshotSeq: number;
}

/** One page of a student's timeline, oldest first (time, then seq), as raw rows ready to serialize. */
export async function listTimelinePage(db: Knex, filter: TimelineFilter, position: TimelinePosition, limit: number): Promise<EventRow[]> {
  const query = db('events')
    .select(columns)
    .where('user_id', filter.userId)
    .andWhere('seq', '<=', position.snapshotSeq)
    .orderBy([
      { column: 'occurred_at', order: 'asc' },
      { column: 'seq', order: 'asc' },
    ])
    .limit(limit);
  if (filter.conceptId !== undefined) query.andWhere('concept_id', filter.conceptId);
  if (filter.eventType !== undefined) query.andWhere('event_type', filter.eventType);
  if (filter.sinceMs !== undefined) query.andWhere('occurred_at', '>=', filter.sinceMs);
  if (filter.untilMs !== undefined) query.andWhere('occurred_at', '<', filter.untilMs);
  if (position.afterOccurredAt !== undefined && position.afterSeq !== undefined) {
    query.andWhereRaw('(occurred_at, seq) > (?, ?)', [position.afterOccurredAt, position.afterSeq]);
  }
  return (await query) as EventRow[];
}

/** Events committed after `afterSeq`, in seq order, which is commit order (see event-writer.ts). */
/** The events with seq in (afterSeq, upToSeq], oldest first. */
export async function listFeedPage(db: Knex, afterSeq: number, upToSeq: number, limit: number): Promise<EventRow[]> {
  return (await db('events')
    .select(columns)
    .where('seq', '>', afterSeq)
    .andWhere('seq', '<=', upToSeq)
    .orderBy('seq', 'asc')
    .limit(limit)) as EventRow[];
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
