// Several replicas starting at once on one new database, while the migration lock is held: each
// waits for it, each migration is applied exactly once (knex's migration lock), and every replica
// starts and is ready.
import { request } from '../../../test-support/http.js';
import { testDatabaseUrl, withDatabase } from '../../../test-support/database.js';
import { makeTempDir, startService, type ServiceProcess } from '../../../test-support/service-process.js';
import { migrations } from '../dist/migrations/index.js';

test('four replicas starting at once while the migration lock is held wait for it, apply each migration once, and all become ready', async () => {
  const dir = makeTempDir('replicas-');
  const started: ServiceProcess[] = [];
  try {
    const databaseUrl = await testDatabaseUrl(dir.path, 'events');
    // As if another replica were in the middle of migrating: knex's lock is taken, and let go a
    // moment after the four have started.
    await withDatabase(databaseUrl, async (db) => {
      await db.migrate.latest({
        migrationSource: { getMigrations: () => Promise.resolve([]), getMigrationName: String, getMigration: () => ({}) },
      });
      await db('knex_migrations_lock').update({ is_locked: 1 });
    });
    const unlock = new Promise<void>((resolve) => setTimeout(resolve, 5000)).then(() =>
      withDatabase(databaseUrl, (db) => db('knex_migrations_lock').update({ is_locked: 0 })),
    );
    const replicas = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const replica = await startService('learning-events', { DATABASE_URL: databaseUrl });
        started.push(replica);
        return replica;
      }),
    );
    await unlock;
    for (const replica of replicas) expect((await request(`${replica.url}/ready`)).status).toBe(200);
    const applied = await withDatabase(databaseUrl, (db) => db('knex_migrations').select('name'));
    const names = (applied as Array<{ name: string }>).map((row) => row.name).sort();
    expect(names).toEqual((migrations as Array<{ name: string }>).map((migration) => migration.name).sort());
    // Between them, the replicas applied every migration, none twice.
    const appliedByEach = replicas.map((replica) => {
      const line = replica.output.find((l) => l.includes('"msg":"migrations current"'))!;
      return (JSON.parse(line) as { applied: string[] }).applied;
    });
    expect(appliedByEach.flat().sort()).toEqual(names);
  } finally {
    await Promise.all(started.map((replica) => replica.kill('SIGTERM')));
    dir.remove();
  }
});
