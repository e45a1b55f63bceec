// The mastery_records and feed_cursor tables: the only module that writes SQL for them.
//
// Every write goes through writeMasteries, whose upsert only replaces a stored record when the new
// one has folded at least as far (new last_seq >= stored last_seq). A record is always the fold of
// every event of its concept up to its last_seq, so a record with a higher last_seq is simply
// newer: recomputes racing each other or the consumer all end where one clean run would.
import { sha256Hex, type Knex } from '@learning-analytics/common';
import type { ConceptMastery, MasteryModel } from '../domain/mastery-model.js';
import type { MasteryRecordView } from '../schemas.js';

interface MasteryRow {
  user_id: string;
  user_id_sha256?: string | null;
  concept_id: string;
  model: string;
  mastery_score: number;
  total_attempts: number | string;
  successful_attempts: number | string;
  model_state: string;
  last_event_at: number | string;
  last_seq: number | string;
  updated_at: number | string;
}

export interface StoredMastery<S> {
  model: string;
  mastery: ConceptMastery<S>;
  /** The stored state, as JSON, to tell whether a new fold changes anything. */
  stateJson: string;
  lastEventAt: number;
}

export interface MasteryWrite<S> {
  userId: string;
  conceptId: string;
  mastery: ConceptMastery<S>;
}

/** Rows per INSERT: 11 bound values each stays far below every engine's parameter limit. */
const WRITE_CHUNK = 500;
/** (user, concept) pairs per lookup. */
const READ_CHUNK = 400;

export const conceptKey = (userId: string, conceptId: string) => JSON.stringify([userId, conceptId]);

// PostgreSQL returns bigint columns as strings; SQLite as numbers. Both fit a double exactly here.
export function toRecordView(row: MasteryRow): MasteryRecordView {
  return {
    user_id: row.user_id,
    concept_id: row.concept_id,
    model: row.model,
    mastery_score: Number(row.mastery_score),
    total_attempts: Number(row.total_attempts),
    successful_attempts: Number(row.successful_attempts),
    last_event_at: new Date(Number(row.last_event_at)).toISOString(),
    updated_at: new Date(Number(row.updated_at)).toISOString(),
  };
}

const viewColumns = [
  'user_id',
  'concept_id',
  'model',
  'mastery_score',
  'total_attempts',
  'successful_attempts',
  'last_event_at',
  'updated_at',
] as const;

/** A student's records, sorted by concept_id (binary order: code points). */
export async function listUserRecords(db: Knex, userId: string): Promise<MasteryRecordView[]> {
  const rows = (await db('mastery_records').select(viewColumns).where('user_id', userId).orderBy('concept_id', 'asc')) as MasteryRow[];
  return rows.map(toRecordView);
}

function toStored<S>(row: MasteryRow): StoredMastery<S> {
  return {
    model: row.model,
    stateJson: row.model_state,
    lastEventAt: Number(row.last_event_at),
    mastery: {
      state: JSON.parse(row.model_state) as S,
      lastEventAt: Number(row.last_event_at),
      lastSeq: Number(row.last_seq),
    },
  };
}

/** Every stored record of a student, by concept_id. */
export async function findUserMasteries<S>(db: Knex, userId: string): Promise<Map<string, StoredMastery<S>>> {
  const rows = (await db('mastery_records').select('*').where('user_id', userId)) as MasteryRow[];
  return new Map(rows.map((row) => [row.concept_id, toStored<S>(row)]));
}

/** The stored records of the given (user, concept) pairs, by conceptKey. */
export async function findMasteries<S>(
  db: Knex,
  keys: Array<{ userId: string; conceptId: string }>,
): Promise<Map<string, StoredMastery<S>>> {
  const found = new Map<string, StoredMastery<S>>();
  for (let i = 0; i < keys.length; i += READ_CHUNK) {
    const pairs = keys.slice(i, i + READ_CHUNK).map((k) => [k.userId, k.conceptId]);
    const rows = (await db('mastery_records').select('*').whereIn(['user_id', 'concept_id'], pairs)) as MasteryRow[];
    for (const row of rows) found.set(conceptKey(row.user_id, row.concept_id), toStored<S>(row));
  }
  return found;
}

/**
 * Upserts records, each only where nothing newer is stored (stored last_seq <= new last_seq).
 * Call inside a transaction.
 */
export async function writeMasteries<S>(db: Knex, model: MasteryModel<S>, writes: Array<MasteryWrite<S>>, now: number): Promise<void> {
  const digests = new Map<string, string>();
  const digestOf = (userId: string) => {
    let digest = digests.get(userId);
    if (digest === undefined) digests.set(userId, (digest = sha256Hex(userId)));
    return digest;
  };
  for (let i = 0; i < writes.length; i += WRITE_CHUNK) {
    const rows = writes.slice(i, i + WRITE_CHUNK).map(({ userId, conceptId, mastery }): MasteryRow => {
      const attempts = model.attempts(mastery.state);
      return {
        user_id: userId,
        user_id_sha256: digestOf(userId),
        concept_id: conceptId,
        model: model.name,
        mastery_score: model.score(mastery.state),
        total_attempts: attempts.total,
        successful_attempts: attempts.successful,
        model_state: JSON.stringify(mastery.state),
        last_event_at: mastery.lastEventAt,
        last_seq: mastery.lastSeq,
        updated_at: now,
      };
    });
    await db('mastery_records')
      .insert(rows)
      .onConflict(['user_id', 'concept_id'])
      .merge()
      .where('mastery_records.last_seq', '<=', db.raw('excluded.last_seq'));
  }
}

/** Deletes every record of a student; returns how many. */
export async function deleteUserMasteries(db: Knex, userId: string): Promise<number> {
  return db('mastery_records').where('user_id', userId).delete();
}

/**
 * Applies an erasure marker of the Logger: deletes every record of the student the digest names and
 * remembers the erasure's seq. Returns the erased user_ids (none when no record was stored).
 */
export async function applyErasure(db: Knex, userIdSha256: string, seq: number, now: number): Promise<string[]> {
  const rows = (await db('mastery_records').distinct('user_id').where('user_id_sha256', userIdSha256)) as Array<{ user_id: string }>;
  await db('mastery_records').where('user_id_sha256', userIdSha256).delete();
  await db('erasures')
    .insert({ user_id_sha256: userIdSha256, seq, erased_at: now })
    .onConflict('user_id_sha256')
    .merge()
    .where('erasures.seq', '<', db.raw('excluded.seq'));
  return rows.map((row) => row.user_id);
}

/** The seq of the student's latest erasure applied from the feed, or 0. */
export async function latestErasureSeq(db: Knex, userId: string): Promise<number> {
  const row = (await db('erasures').select('seq').where('user_id_sha256', sha256Hex(userId)).first()) as
    { seq: number | string } | undefined;
  return Number(row?.seq ?? 0);
}

export async function readFeedCursor(db: Knex): Promise<number> {
  const row = (await db('feed_cursor').select('after_seq').where('id', 1).first()) as { after_seq: number | string } | undefined;
  return Number(row?.after_seq ?? 0);
}

/** Stores the consumer's position; call in the transaction that applied the events up to it. */
export async function writeFeedCursor(db: Knex, afterSeq: number, now: number): Promise<void> {
  // Forward only: a cursor never moves back, whoever writes it.
  await db('feed_cursor').where('id', 1).andWhere('after_seq', '<=', afterSeq).update({ after_seq: afterSeq, updated_at: now });
}
