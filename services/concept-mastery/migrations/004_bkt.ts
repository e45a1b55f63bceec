// Bayesian Knowledge Tracing: the fitted parameters, one row per concept and version (the highest
// version is in force; none: the defaults, version 0), and the fits, kept so their results can
// be read after a restart.
import type { Knex, Migration } from '@learning-analytics/common';

export const bktTables: Migration = {
  name: '004_bkt',
  async up(db: Knex) {
    await db.schema.createTable('bkt_params', (table) => {
      table.integer('version').notNullable();
      table.string('concept_id', 512).notNullable();
      table.double('p_init').notNullable();
      table.double('p_learn').notNullable();
      table.double('p_guess').notNullable();
      table.double('p_slip').notNullable();
      table.double('p_forget').notNullable();
      table.boolean('fitted').notNullable();
      table.integer('students').notNullable();
      table.bigInteger('observations').notNullable();
      table.double('log_likelihood');
      table.integer('iterations').notNullable();
      table.bigInteger('fitted_at').notNullable();
      table.primary(['version', 'concept_id'], 'bkt_params_pkey');
    });
    await db.schema.createTable('bkt_fits', (table) => {
      table.string('fit_id', 36).primary();
      table.string('status', 16).notNullable();
      table.bigInteger('started_at').notNullable();
      table.bigInteger('finished_at');
      table.text('result');
      table.text('error');
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('bkt_fits');
    await db.schema.dropTable('bkt_params');
  },
};
