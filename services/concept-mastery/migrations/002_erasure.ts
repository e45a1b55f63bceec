// Erasure: each record carries the SHA-256 of its user_id, the only way the Logger's erasure
// markers name a student; and `erasures` remembers, by that digest, the seq of each student's
// latest erasure, so a recompute that read the history before it cannot write it back after.
import { sha256Hex, type Knex, type Migration } from '@learning-analytics/common';

export const addErasure: Migration = {
  name: '002_erasure',
  async up(db: Knex) {
    await db.schema.alterTable('mastery_records', (table) => {
      table.string('user_id_sha256', 64);
    });
    const users = await db<{ user_id: string }>('mastery_records').distinct('user_id');
    for (const { user_id } of users) {
      await db('mastery_records')
        .where({ user_id })
        .update({ user_id_sha256: sha256Hex(user_id) });
    }
    await db.schema.alterTable('mastery_records', (table) => {
      table.index(['user_id_sha256'], 'mastery_records_user_digest');
    });
    await db.schema.createTable('erasures', (table) => {
      table.string('user_id_sha256', 64).primary();
      table.bigInteger('seq').notNullable();
      table.bigInteger('erased_at').notNullable();
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('erasures');
    await db.schema.alterTable('mastery_records', (table) => {
      table.dropIndex(['user_id_sha256'], 'mastery_records_user_digest');
      table.dropColumn('user_id_sha256');
    });
  },
};
