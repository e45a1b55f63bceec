// `npm run migrate`: applies pending migrations to DATABASE_URL and exits.
import { migrateToLatest, openDatabase } from '@learning-analytics/common';
import { loadConfig } from './config.js';
import { migrations } from '../migrations/index.js';

const config = loadConfig();
const db = openDatabase(config.DATABASE_URL);
try {
  const applied = await migrateToLatest(db, migrations);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'already up to date');
} finally {
  await db.destroy();
}
