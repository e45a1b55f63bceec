// `npm run migrate`: applies pending migrations to DATABASE_URL and exits.
import { runMigrations } from '@learning-analytics/common';
import { loadConfig } from './config.js';
import { migrations } from '../migrations/index.js';

await runMigrations(loadConfig().DATABASE_URL, migrations);
