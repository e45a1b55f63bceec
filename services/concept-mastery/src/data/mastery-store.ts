// The model_records, erasures, dead_letters and feed_cursor tables: the only module that writes SQL
// for them.
//
// Every write goes through writeMasteries, whose upsert only replaces a stored record when the new
// one has folded at least as far (new last_position >= stored last_position, compared byte-wise).
// A record is always the fold of every event of its concept at a feed position up to its
// last_position, so a record with a higher one is simply newer: recomputes racing each other or the
// consumer all end where one clean run would. On PostgreSQL (READ COMMITTED) that holds row by row
// because the upsert's condition is evaluated on the row as it stands when the upsert locks it.
import { FEED_START, engineOf, sha256Hex, type Knex } from '@learning-analytics/common';
import type { ConceptMastery, MasteryModel } from '../domain/mastery-model.js';

interface MasteryRow {
  user_id: string;
  concept_id: string;
  model: string;
  user_id_sha256: string;
  mastery_score: number;
  fields: string;
  model_state: string;
  last_event_at: number | string;
  last_event_seq: number | string;
  last_position: string;
  updated_at: number | string;
}

export interface StoredMastery<S> {
  mastery: ConceptMastery<S>;
  /** The stored state, encoded, to tell whether a new fold changes anything. */
  stateText: string;
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

/**
 * A record as the API shows it: the common fields around the model's own, as JSON text straight
 * from the row (the model's fields are stored serialized).
 */
function recordJson(
  row: Pick<MasteryRow, 'user_id' | 'concept_id' | 'model' | 'mastery_score' | 'fields' | 'last_event_at' | 'updated_at'>,
): string {
  const fields = row.fields === '{}' ? '' : `,${row.fields.slice(1, -1)}`;
  // PostgreSQL returns bigint columns as strings; SQLite as numbers. Both fit a double exactly here.
  return (
    `{"user_id":${JSON.stringify(row.user_id)},"concept_id":${JSON.stringify(row.concept_id)},"model":${JSON.stringify(row.model)}` +
    `,"mastery_score":${Number(row.mastery_score)}${fields}` +
    `,"last_event_at":"${new Date(Number(row.last_event_at)).toISOString()}","updated_at":"${new Date(Number(row.updated_at)).toISOString()}"}`
  );
}

const viewColumns = ['user_id', 'concept_id', 'model', 'mastery_score', 'fields', 'last_event_at', 'updated_at'] as const;

/** A student's records of one model, sorted by concept_id (binary order: code points), each as JSON. */
export async function listUserRecords(db: Knex, userId: string, model: string): Promise<Array<{ conceptId: string; json: string }>> {
  const rows = (await db('model_records')
    .select(viewColumns)
    .where({ user_id: userId, model })
    .orderBy('concept_id', 'asc')) as MasteryRow[];
  return rows.map((row) => ({ conceptId: row.concept_id, json: recordJson(row) }));
}

function toStored<S>(model: MasteryModel<S>, row: MasteryRow): StoredMastery<S> {
  return {
    stateText: row.model_state,
    mastery: {
      state: model.decode(row.model_state),
      lastEventAt: Number(row.last_event_at),
      lastEventSeq: Number(row.last_event_seq),
      lastPosition: row.last_position,
    },
  };
}

/** Every stored record of a student for one model, by concept_id. */
export async function findUserMasteries<S>(db: Knex, model: MasteryModel<S>, userId: string): Promise<Map<string, StoredMastery<S>>> {
  const rows = (await db('model_records').select('*').where({ user_id: userId, model: model.name })) as MasteryRow[];
  return new Map(rows.map((row) => [row.concept_id, toStored(model, row)]));
}

/** The stored records of one model for the given (user, concept) pairs, by conceptKey. */
export async function findMasteries<S>(
  db: Knex,
  model: MasteryModel<S>,
  keys: Array<{ userId: string; conceptId: string }>,
): Promise<Map<string, StoredMastery<S>>> {
  const found = new Map<string, StoredMastery<S>>();
  for (let i = 0; i < keys.length; i += READ_CHUNK) {
    const triples = keys.slice(i, i + READ_CHUNK).map((k) => [k.userId, model.name, k.conceptId]);
    const rows = (await db('model_records').select('*').whereIn(['user_id', 'model', 'concept_id'], triples)) as MasteryRow[];
    for (const row of rows) found.set(conceptKey(row.user_id, row.concept_id), toStored(model, row));
  }
  return found;
}

/**
 * Upserts records of one model, each only where nothing newer is stored (stored last_position <=
 * new last_position). Call inside a transaction. Rows go in key order, so that concurrent writers
 * lock the rows they share in the same order and cannot deadlock on them.
 */
export async function writeMasteries<S>(db: Knex, model: MasteryModel<S>, writes: Array<MasteryWrite<S>>, now: number): Promise<void> {
  const digests = new Map<string, string>();
  const digestOf = (userId: string) => {
    let digest = digests.get(userId);
    if (digest === undefined) digests.set(userId, (digest = sha256Hex(userId)));
    return digest;
  };
  const ordered = [...writes].sort((a, b) => compareKeys(a.userId, b.userId) || compareKeys(a.conceptId, b.conceptId));
  for (let i = 0; i < ordered.length; i += WRITE_CHUNK) {
    const rows = ordered.slice(i, i + WRITE_CHUNK).map(({ userId, conceptId, mastery }): MasteryRow => ({
      user_id: userId,
      concept_id: conceptId,
      model: model.name,
      user_id_sha256: digestOf(userId),
      mastery_score: model.score(mastery.state),
      fields: JSON.stringify(model.fields(mastery.state)),
      model_state: model.encode(mastery.state),
      last_event_at: mastery.lastEventAt,
      last_event_seq: mastery.lastEventSeq,
      last_position: mastery.lastPosition,
      updated_at: now,
    }));
    await db('model_records')
      .insert(rows)
      .onConflict(['user_id', 'model', 'concept_id'])
      .merge()
      .where('model_records.last_position', '<=', db.raw('excluded.last_position'));
  }
}

const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A page of one model's records in key order, after `after` (user, concept) when given. */
export async function listModelRecords<S>(
  db: Knex,
  model: MasteryModel<S>,
  after: { userId: string; conceptId: string } | undefined,
  limit: number,
): Promise<Array<{ userId: string; conceptId: string; stored: StoredMastery<S> }>> {
  let query = db('model_records').select('*').where('model', model.name);
  if (after) {
    const { userId, conceptId } = after;
    // Keyset paging on (user_id, concept_id), written out: row-value comparison is not portable knex.
    query = query.andWhere((next) => {
      void next.where('user_id', '>', userId).orWhere((same) => {
        void same.where('user_id', userId).andWhere('concept_id', '>', conceptId);
      });
    });
  }
  const rows = (await query.orderBy([{ column: 'user_id' }, { column: 'concept_id' }]).limit(limit)) as MasteryRow[];
  return rows.map((row) => ({ userId: row.user_id, conceptId: row.concept_id, stored: toStored(model, row) }));
}

/** How many records a model has. */
export async function countModelRecords(db: Knex, model: string): Promise<number> {
  const row = (await db('model_records').where({ model }).count({ records: '*' }).first()) as { records: number | string } | undefined;
  return Number(row?.records ?? 0);
}

/** Deletes every record of a student, every model's; returns how many. Call inside a transaction. */
export async function deleteUserMasteries(trx: Knex.Transaction, userId: string): Promise<number> {
  await lockFeedCursor(trx, 'shared');
  return trx('model_records').where('user_id', userId).delete();
}

/**
 * Applies an erasure marker of the Logger: deletes the records of the student the digest names that
 * were folded before the marker (every one, unless a recompute already rebuilt the student from a
 * history read after it) and remembers the marker's position. Returns the user_ids whose records
 * were deleted.
 */
export async function applyErasure(db: Knex, userIdSha256: string, position: string, now: number): Promise<string[]> {
  const erased = db('model_records').where('user_id_sha256', userIdSha256).andWhere('last_position', '<', position);
  const rows = await erased.clone().distinct<Array<{ user_id: string }>>('user_id');
  await erased.delete();
  await db('erasures')
    .insert({ user_id_sha256: userIdSha256, position, erased_at: now })
    .onConflict('user_id_sha256')
    .merge()
    .where('erasures.position', '<', db.raw('excluded.position'));
  return rows.map((row) => row.user_id);
}

/** The feed position of the student's latest erasure applied from the feed, or FEED_START. */
export async function latestErasurePosition(db: Knex, userId: string): Promise<string> {
  const row = (await db('erasures').select('position').where('user_id_sha256', sha256Hex(userId)).first()) as
    { position: string } | undefined;
  return row?.position ?? FEED_START;
}

/** Sets feed events aside as dead letters (a seq seen again keeps its first record). */
export async function writeDeadLetters(
  db: Knex,
  letters: Array<{ seq: number; position: string; eventId: string | undefined; reason: string }>,
  now: number,
): Promise<void> {
  if (letters.length === 0) return;
  const rows = letters.map((letter) => ({
    seq: letter.seq,
    position: letter.position,
    event_id: letter.eventId ?? null,
    reason: letter.reason,
    seen_at: now,
  }));
  await db('dead_letters').insert(rows).onConflict('seq').ignore();
}

/** The feed position the consumer has applied everything up to. */
export async function readFeedCursor(db: Knex): Promise<string> {
  const row = (await db('feed_cursor').select('cursor').where('id', 1).first()) as { cursor: string } | undefined;
  return row?.cursor ?? FEED_START;
}

/**
 * Reads the cursor and, on PostgreSQL, locks its row until the transaction ends: `exclusive` in
 * the consumer's transaction that applies a page, `shared` in every other that writes records,
 * before it touches them. So an erasure the consumer applies never commits between another
 * writer's look at the erasures and its writes, two consumers' pages never interleave, and
 * writers that meet on a record's row have taken their locks in one order. SQLite runs one write
 * transaction at a time anyway.
 */
export async function lockFeedCursor(trx: Knex.Transaction, mode: 'exclusive' | 'shared'): Promise<string> {
  const query = trx('feed_cursor').select('cursor').where('id', 1);
  if (engineOf(trx) === 'postgres') void (mode === 'exclusive' ? query.forUpdate() : query.forShare());
  const row = (await query.first()) as { cursor: string } | undefined;
  return row?.cursor ?? FEED_START;
}

/** Stores the consumer's position; call in the transaction that applied the events up to it. */
export async function writeFeedCursor(db: Knex, cursor: string, now: number): Promise<void> {
  // Forward only: a cursor never moves back, whoever writes it.
  await db('feed_cursor').where('id', 1).andWhere('cursor', '<=', cursor).update({ cursor, updated_at: now });
}
