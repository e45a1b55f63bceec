// The events table: append-only, one row per learning event. Portable between SQLite and
// PostgreSQL: integer milliseconds for times, JSON as text, no engine-specific types.
import type { Knex, Migration } from '@learning-analytics/common';

export const createEvents: Migration = {
  name: '001_create_events',
  async up(db: Knex) {
    await db.schema.createTable('events', (table) => {
      table.bigIncrements('seq');
      table.string('event_id', 36).notNullable().unique('events_event_id_unique');
      table.string('user_id', 512).notNullable();
      table.string('event_type', 64).notNullable();
      table.string('concept_id', 512).notNullable();
      table.text('event_details').notNullable();
      table.bigInteger('occurred_at').notNullable();
      table.bigInteger('recorded_at').notNullable();
      table.index(['user_id', 'occurred_at', 'seq'], 'events_user_time');
      table.index(['user_id', 'concept_id', 'occurred_at', 'seq'], 'events_user_concept_time');
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('events');
  },
};
