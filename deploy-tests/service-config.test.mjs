// The environment the charts render is the configuration the services read: every variable a
// chart sets (other than OpenTelemetry's, the downward API's and extraEnv) is one the service
// validates, and it takes the rendered value. Checked with each service's own loadConfig (its
// compiled dist/src/config.js), for the defaults, the all-features scenario and the postgres one
// (DATABASE_URL from a Secret or from the values, the pool and timeouts). And what the chart
// refuses on PostgreSQL, scheduled backups, the service refuses too.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { helmTemplate, objectsOfKind } from './support/helm.mjs';
import { resolveEnvironment } from './support/pod-simulation.mjs';
import { assertServiceBuilt, chartsDir, servicePath } from './support/repository.mjs';
import { scenariosOf } from './support/scenarios.mjs';

const notServiceSettings = /^(OTEL_|POD_|NODE_OPTIONS$)/;

// The Secrets a scenario names, with values of the shape the service expects.
const secrets = {
  'concept-mastery-logger-key': { key: 'pod-simulation.secret' },
  'learning-events-postgres': {
    'database-url': 'postgres://learning_events:p%40ss@postgres.databases.svc:5432/learning_events?sslmode=require',
  },
};

/** The environment the scenario's Deployment gives the container, its Secrets resolved. */
async function renderedEnvironment(service, scenario) {
  const { objects } = await helmTemplate(join(chartsDir, service), { valuesFiles: scenario.valuesFiles });
  const [deployment] = objectsOfKind(objects, 'Deployment');
  return resolveEnvironment(
    deployment.spec.template.spec.containers[0].env,
    { 'metadata.namespace': 'learning', 'metadata.name': 'pod' },
    (name) => secrets[name],
  );
}

async function loadConfigOf(service) {
  assertServiceBuilt(service);
  return (await import(pathToFileURL(join(servicePath(service), 'dist', 'src', 'config.js')).href)).loadConfig;
}

async function checkScenario(service, scenario) {
  const loadConfig = await loadConfigOf(service);
  const env = await renderedEnvironment(service, scenario);
  const config = loadConfig(env);
  const settings = Object.keys(env).filter((name) => !notServiceSettings.test(name));
  expect(settings.length).toBeGreaterThan(3);
  for (const name of settings) {
    expect({ name, read: config[name] === undefined ? undefined : String(config[name]) }).toEqual({ name, read: env[name] });
  }
}

const scenarioNames = ['defaults', 'all-features', 'postgres'];

test.each(scenarioNames)('learning-events %s: every rendered setting is read by the service as rendered', async (name) => {
  await checkScenario(
    'learning-events',
    scenariosOf('learning-events').find((scenario) => scenario.name === name),
  );
});

test.each(scenarioNames)('concept-mastery %s: every rendered setting is read by the service as rendered', async (name) => {
  await checkScenario(
    'concept-mastery',
    scenariosOf('concept-mastery').find((scenario) => scenario.name === name),
  );
});

test.each(['learning-events', 'concept-mastery'])(
  '%s postgres: the service reads a PostgreSQL URL, and refuses BACKUP_DIR with it, as the chart refuses backup.enabled',
  async (service) => {
    const loadConfig = await loadConfigOf(service);
    const env = await renderedEnvironment(
      service,
      scenariosOf(service).find((scenario) => scenario.name === 'postgres'),
    );
    expect(env.DATABASE_URL).toMatch(/^postgres(ql)?:\/\//);
    const { backupSchedule } = await import(pathToFileURL(join(servicePath('common'), 'dist', 'scheduled-backup.js')).href);
    expect(backupSchedule(service, loadConfig(env))).toBeUndefined();
    expect(() => backupSchedule(service, loadConfig({ ...env, BACKUP_DIR: '/backups' }))).toThrow(
      /BACKUP_DIR needs an sqlite: DATABASE_URL/,
    );
  },
);
