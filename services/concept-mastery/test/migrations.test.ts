// Records stored before the records-per-model migration are served unchanged after it: a database
// made by the first migrations holds pass-ratio records; the Brain starts on it, migrates, and
// answers the same records. The seqs stored before feed positions become positions of transaction 0.
import { feedPosition, migrateToLatest, openDatabase } from '@learning-analytics/common';
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

test('the seqs of the records, the cursor, the erasures and the dead letters become feed positions of transaction 0', async () => {
  const dir = makeTempDir('mastery-migration-');
  const databaseUrl = await testDatabaseUrl(dir.path, 'mastery');
  const db = openDatabase(databaseUrl);
  try {
    await migrateToLatest(db, migrations.slice(0, 6));
    const record = {
      user_id: 'ada',
      concept_id: 'sets',
      model: 'pass_ratio',
      user_id_sha256: 'a'.repeat(64),
      mastery_score: 50,
      fields: '{"total_attempts":2,"successful_attempts":1}',
      model_state: '{"total":2,"successful":1}',
      last_event_at: 1,
      updated_at: 2,
    };
    await db('model_records').insert({ ...record, last_seq: 4_503_599_627_370_496 });
    await db('feed_cursor').update({ after_seq: 9_007_199_254_740_991 });
    await db('erasures').insert({ user_id_sha256: 'b'.repeat(64), seq: 77, erased_at: 3 });
    await db('dead_letters').insert({ seq: 5, event_id: 'e', reason: 'malformed', seen_at: 4 });
    await migrateToLatest(db, migrations);

    expect(await db('model_records').select('last_position', 'last_event_seq')).toEqual([
      { last_position: feedPosition(0, 4_503_599_627_370_496), last_event_seq: expect.anything() },
    ]);
    expect(Number((await db('model_records').first('last_event_seq')).last_event_seq)).toBe(4_503_599_627_370_496);
    expect(await db('feed_cursor').pluck('cursor')).toEqual([feedPosition(0, 9_007_199_254_740_991)]);
    expect(await db('erasures').pluck('position')).toEqual([feedPosition(0, 77)]);
    expect(await db('dead_letters').select('position', 'event_id')).toEqual([{ position: feedPosition(0, 5), event_id: 'e' }]);
    // The seq columns are gone: a replica still writing them fails instead of storing a record without a position.
    await expect(db('model_records').insert({ ...record, concept_id: 'graphs', last_seq: 1 })).rejects.toThrow(/last_seq/);
  } finally {
    await db.destroy();
    dir.remove();
  }
});
