// Byte-wise order of ids on PostgreSQL too (see collateByteWise): no change on SQLite.
import { collateByteWise, type Knex, type Migration } from '@learning-analytics/common';

export const byteWiseIds: Migration = {
  name: '004_byte_wise_ids',
  async up(db: Knex) {
    await collateByteWise(db, 'events', { event_id: 36, user_id: 512, event_type: 64, concept_id: 512 });
    await collateByteWise(db, 'erasures', { user_id_sha256: 64 });
  },
  async down() {},
};
