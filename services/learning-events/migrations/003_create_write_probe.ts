// One row the writer rewrites when readiness must know whether a write can commit now (after a
// commit failed): a real write through the same connection, journal and disk as the events.
import type { Knex, Migration } from '@learning-analytics/common';

export const createWriteProbe: Migration = {
  name: '003_create_write_probe',
  async up(db: Knex) {
    await db.schema.createTable('write_probe', (table) => {
      table.integer('id').primary();
      table.bigInteger('written_at').notNullable();
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('write_probe');
  },
};
