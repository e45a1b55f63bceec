// Records stored before the records-per-model migration are served unchanged after it: a database
// made by the first migrations holds pass-ratio records; the Brain starts on it, migrates, and
// answers the same records.
import { migrateToLatest, openDatabase } from '@learning-analytics/common';
import { request } from '../../../test-support/http.js';
import { testDatabaseUrl } from '../../../test-support/database.js';
import { makeTempDir, startService } from '../../../test-support/service-process.js';
import { migrations } from '../dist/migrations/index.js';

test('pass-ratio records of the one-record-per-concept schema are migrated to records per model', async () => {
  const dir = makeTempDir('mastery-migration-');
  const databaseUrl = await testDatabaseUrl(dir.path, 'mastery');
  const db = openDatabase(databaseUrl);
  await migrateToLatest(db, migrations.slice(0, 2));
  const at = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
  await db('mastery_records').insert([
    {
      user_id: 'ada',
      user_id_sha256: 'a'.repeat(64),
      concept_id: 'sets',
      model: 'pass_ratio',
      mastery_score: 50,
      total_attempts: 4,
      successful_attempts: 2,
      model_state: '{"total":4,"successful":2}',
      last_event_at: at,
      last_seq: 7,
      updated_at: at + 1,
    },
    {
      user_id: 'ada',
      user_id_sha256: 'a'.repeat(64),
      concept_id: 'graphs',
      model: 'pass_ratio',
      mastery_score: 0,
      total_attempts: 0,
      successful_attempts: 0,
      model_state: '{"total":0,"successful":0}',
      last_event_at: at,
      last_seq: 9,
      updated_at: at + 2,
    },
  ]);
  await db.destroy();

  const brain = await startService('concept-mastery', { DATABASE_URL: databaseUrl, FEED_CONSUMER_ENABLED: 'false' });
  try {
    expect(brain.output.join('\n')).toContain('"applied":["003_records_per_model"');
    const res = await request(`${brain.url}/mastery/ada`);
    expect(res.body).toEqual([
      {
        user_id: 'ada',
        concept_id: 'graphs',
        model: 'pass_ratio',
        mastery_score: 0,
        total_attempts: 0,
        successful_attempts: 0,
        last_event_at: new Date(at).toISOString(),
        updated_at: new Date(at + 2).toISOString(),
      },
      {
        user_id: 'ada',
        concept_id: 'sets',
        model: 'pass_ratio',
        mastery_score: 50,
        total_attempts: 4,
        successful_attempts: 2,
        last_event_at: new Date(at).toISOString(),
        updated_at: new Date(at + 1).toISOString(),
      },
    ]);
  } finally {
    await brain.kill('SIGTERM');
    dir.remove();
  }
});
