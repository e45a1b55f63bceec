// Byte-wise order of ids on PostgreSQL too (see collateByteWise): no change on SQLite.
import { collateByteWise, type Knex, type Migration } from '@learning-analytics/common';

export const byteWiseIds: Migration = {
  name: '006_byte_wise_ids',
  async up(db: Knex) {
    await collateByteWise(db, 'model_records', { user_id: 512, concept_id: 512, model: 64, user_id_sha256: 64 });
    await collateByteWise(db, 'erasures', { user_id_sha256: 64 });
    await collateByteWise(db, 'bkt_params', { concept_id: 512 });
  },
  async down() {},
};
