// Records keyed by (user, concept, model): each registered model keeps its own record of every
// concept. The model-specific columns (total_attempts, successful_attempts) move into `fields`,
// the JSON of the record fields the model adds, so a new model needs no new column.
import type { Knex, Migration } from '@learning-analytics/common';

function createRecordsTable(db: Knex, name: string) {
  return db.schema.createTable(name, (table) => {
    table.string('user_id', 512).notNullable();
    table.string('concept_id', 512).notNullable();
    table.string('model', 64).notNullable();
    table.string('user_id_sha256', 64).notNullable();
    table.double('mastery_score').notNullable();
    table.text('fields').notNullable();
    table.text('model_state').notNullable();
    table.bigInteger('last_event_at').notNullable();
    // The highest Logger seq folded in: the record is the fold of every event of its concept up to it.
    table.bigInteger('last_seq').notNullable();
    table.bigInteger('updated_at').notNullable();
    table.primary(['user_id', 'model', 'concept_id'], `${name}_pkey`);
    table.index(['user_id_sha256'], `${name}_user_digest`);
  });
}

export const recordsPerModel: Migration = {
  name: '003_records_per_model',
  async up(db: Knex) {
    await createRecordsTable(db, 'model_records');
    await db.raw(
      `insert into model_records (user_id, concept_id, model, user_id_sha256, mastery_score, fields, model_state, last_event_at, last_seq, updated_at)
       select user_id, concept_id, model, user_id_sha256, mastery_score,
              '{"total_attempts":' || total_attempts || ',"successful_attempts":' || successful_attempts || '}',
              model_state, last_event_at, last_seq, updated_at
       from mastery_records`,
    );
    await db.schema.dropTable('mastery_records');
  },
  down() {
    return Promise.reject(new Error('003_records_per_model cannot be undone: records of other models than pass_ratio would be lost'));
  },
};
