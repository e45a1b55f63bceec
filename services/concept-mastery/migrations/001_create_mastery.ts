// The mastery records, one per (student, concept), and the real-time consumer's cursor. Portable
// between SQLite and PostgreSQL: integer milliseconds for times, JSON as text.
import type { Knex, Migration } from '@learning-analytics/common';

export const createMastery: Migration = {
  name: '001_create_mastery',
  async up(db: Knex) {
    await db.schema.createTable('mastery_records', (table) => {
      table.string('user_id', 512).notNullable();
      table.string('concept_id', 512).notNullable();
      table.string('model', 64).notNullable();
      table.double('mastery_score').notNullable();
      table.bigInteger('total_attempts').notNullable();
      table.bigInteger('successful_attempts').notNullable();
      table.text('model_state').notNullable();
      table.bigInteger('last_event_at').notNullable();
      // The highest Logger seq folded in: the record is the fold of every event of its concept up to it.
      table.bigInteger('last_seq').notNullable();
      table.bigInteger('updated_at').notNullable();
      table.primary(['user_id', 'concept_id'], 'mastery_records_pkey');
    });
    await db.schema.createTable('feed_cursor', (table) => {
      table.integer('id').primary();
      table.bigInteger('after_seq').notNullable();
      table.bigInteger('updated_at').notNullable();
    });
    await db('feed_cursor').insert({ id: 1, after_seq: 0, updated_at: Date.now() });
  },
  async down(db: Knex) {
    await db.schema.dropTable('feed_cursor');
    await db.schema.dropTable('mastery_records');
  },
};
