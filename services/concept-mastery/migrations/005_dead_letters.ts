// Feed events the consumer could not use (malformed), set aside so the feed goes on: by seq, with
// the event's id and the reason; no student id, the Logger still holds the event itself.
import type { Knex, Migration } from '@learning-analytics/common';

export const deadLetters: Migration = {
  name: '005_dead_letters',
  async up(db: Knex) {
    await db.schema.createTable('dead_letters', (table) => {
      table.bigInteger('seq').primary();
      table.string('event_id', 64);
      table.text('reason').notNullable();
      table.bigInteger('seen_at').notNullable();
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('dead_letters');
  },
};
