// Feed positions instead of seqs: with several Logger writers, seq order is not commit order, and the
// feed orders by position (writing transaction, seq; see feedPosition in common). A record claims
// every event up to its last_position, the cursor and each erasure are positions, a dead letter
// keeps its seq and gains its position. Every row stored before was written when the transaction
// number was 0 everywhere, so its position is feedPosition(0, seq). A record also keeps the seq of
// its last event in timeline order (last_event_seq), which tells a back-dated event once feed order
// is not seq order; an old record takes its last_seq, at least that seq, which at worst refolds a
// concept once when an event shares its last timestamp. The seq columns go, so a replica still
// running the code before this fails its writes instead of storing records without a position.
import { FEED_START, collateByteWise, engineOf, type Knex, type Migration } from '@learning-analytics/common';

/** Characters of a position: 20 digits, a dot, 16 digits. */
const POSITION_LENGTH = 37;

/** feedPosition(0, seq) in SQL both engines run: seq + 10^16 has 17 digits, the first a 1 (a seq is below 2^53 < 10^16). */
const POSITION_OF_SEQ = `'${FEED_START.slice(0, 21)}' || substr(cast(?? + 10000000000000000 as text), 2)`;

/** Replaces `seqColumn` of `table` by the text column `positionColumn`, filled from it. */
async function addPosition(db: Knex, table: string, seqColumn: string, positionColumn: string, keepSeq = false): Promise<void> {
  // SQLite adds a NOT NULL column only with a default; every row gets its value at once below.
  await db.schema.alterTable(table, (t) => {
    t.string(positionColumn, POSITION_LENGTH).notNullable().defaultTo(FEED_START);
  });
  await db.raw(`update ?? set ?? = ${POSITION_OF_SEQ}`, [table, positionColumn, seqColumn]);
  await collateByteWise(db, table, { [positionColumn]: POSITION_LENGTH });
  // Where the engine can, the default goes: a row written without a position must fail, not claim none.
  if (engineOf(db) === 'postgres') await db.raw('alter table ?? alter column ?? drop default', [table, positionColumn]);
  if (!keepSeq) await db.raw('alter table ?? drop column ??', [table, seqColumn]);
}

export const feedPositions: Migration = {
  name: '007_feed_positions',
  async up(db: Knex) {
    await db.schema.alterTable('model_records', (t) => {
      t.bigInteger('last_event_seq').notNullable().defaultTo(0);
    });
    await db('model_records').update({ last_event_seq: db.ref('last_seq') });
    await addPosition(db, 'model_records', 'last_seq', 'last_position');
    await addPosition(db, 'feed_cursor', 'after_seq', 'cursor');
    await addPosition(db, 'erasures', 'seq', 'position');
    // The seq still names the event to an operator, and is the dead letter's key.
    await addPosition(db, 'dead_letters', 'seq', 'position', true);
  },
  down() {
    return Promise.reject(
      new Error('007_feed_positions cannot be undone: a position of a transaction other than 0 has no seq to go back to'),
    );
  },
};
