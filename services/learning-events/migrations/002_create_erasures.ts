// Erasure markers: one row per erasure of a student, in the feed's seq order, so consumers learn
// of it where it happened. A marker names the student only by the SHA-256 of the id: the
// erasure leaves no copy of the id itself in the database.
import type { Knex, Migration } from '@learning-analytics/common';

export const createErasures: Migration = {
  name: '002_create_erasures',
  async up(db: Knex) {
    await db.schema.createTable('erasures', (table) => {
      // Drawn from the events' sequence: a marker sits between the events committed before and after it.
      table.bigInteger('seq').primary();
      table.string('user_id_sha256', 64).notNullable();
      table.bigInteger('events_deleted').notNullable();
      table.bigInteger('erased_at').notNullable();
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('erasures');
  },
};
