// Every test suite, as jest projects. Service tests are TypeScript, compiled by swc as ES
// modules; they start the built services as real processes (npm test builds first). The deploy
// tests (charts, manifests, dashboards, Tiltfile) are plain ES modules.
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }];

// Tests of several replicas on one database (*.postgres.test.ts) run on PostgreSQL only: one SQLite
// file has one writer process.
const project = (name, roots) => ({
  displayName: name,
  testEnvironment: 'node',
  roots,
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '\\.postgres\\.test\\.ts$'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
});

// The same contract tests once more with every service under test on PostgreSQL: one throwaway
// server per run (test-support/postgres.ts), a database of its own for each service started
// (test-support/database.ts). Left out: the tests of SQLite's own mechanisms (its file's bytes,
// fsync calls, the online backup, statement finalization) and the harness's own test.
const sqliteOnly = ['backup', 'scheduled-backup', 'fsync', 'statement-gc', 'stream-failure', 'postgres-harness'].map(
  (name) => `/${name}\\.test\\.ts$`,
);

const onPostgres = (name, roots) => ({
  ...project(`${name}-postgres`, roots),
  testPathIgnorePatterns: ['/node_modules/', ...sqliteOnly],
  setupFiles: ['<rootDir>/test-support/use-postgres.mjs'],
  globalSetup: '<rootDir>/test-support/postgres-global-setup.mjs',
  globalTeardown: '<rootDir>/test-support/postgres-global-teardown.mjs',
});

export default {
  testTimeout: 120_000,
  projects: [
    project('learning-events', ['<rootDir>/services/learning-events/test']),
    project('concept-mastery', ['<rootDir>/services/concept-mastery/test']),
    onPostgres('learning-events', ['<rootDir>/services/learning-events/test']),
    onPostgres('concept-mastery', ['<rootDir>/services/concept-mastery/test']),
    {
      displayName: 'deploy',
      testEnvironment: 'node',
      roots: ['<rootDir>/deploy-tests'],
      testMatch: ['**/*.test.mjs'],
      transform: {},
    },
  ],
};
