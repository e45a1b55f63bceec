// setupFiles of the PostgreSQL projects in jest.config.js: the services under test run on
// PostgreSQL (see database.ts).
process.env.TEST_DATABASE_ENGINE = 'postgres';
