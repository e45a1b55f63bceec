// Every test suite, as jest projects. Service tests are TypeScript, compiled by swc as ES
// modules; they start the built services as real processes (npm test builds first). The deploy
// tests (charts, manifests, dashboards, Tiltfile) are plain ES modules.
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }];

const project = (name, roots) => ({
  displayName: name,
  testEnvironment: 'node',
  roots,
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
});

export default {
  testTimeout: 120_000,
  projects: [
    project('learning-events', ['<rootDir>/services/learning-events/test']),
    project('concept-mastery', ['<rootDir>/services/concept-mastery/test']),
    {
      displayName: 'deploy',
      testEnvironment: 'node',
      roots: ['<rootDir>/deploy-tests'],
      testMatch: ['**/*.test.mjs'],
      transform: {},
    },
  ],
};
