// The environment the charts render is the configuration the services read: every variable a
// chart sets (other than OpenTelemetry's, the downward API's and extraEnv) is one the service
// validates, and it takes the rendered value. Checked with each service's own loadConfig (its
// compiled dist/src/config.js), for the defaults and for the all-features scenario.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { helmTemplate, objectsOfKind } from './support/helm.mjs';
import { resolveEnvironment } from './support/pod-simulation.mjs';
import { assertServiceBuilt, chartsDir, servicePath } from './support/repository.mjs';
import { scenariosOf } from './support/scenarios.mjs';

const notServiceSettings = /^(OTEL_|POD_|NODE_OPTIONS$)/;

async function checkScenario(service, scenario) {
  assertServiceBuilt(service);
  const { loadConfig } = await import(pathToFileURL(join(servicePath(service), 'dist', 'src', 'config.js')).href);
  const { objects } = await helmTemplate(join(chartsDir, service), { valuesFiles: scenario.valuesFiles });
  const [deployment] = objectsOfKind(objects, 'Deployment');
  // The Secrets a scenario names, with values of the shape the service expects.
  const secrets = { 'concept-mastery-logger-key': { key: 'pod-simulation.secret' } };
  const env = resolveEnvironment(
    deployment.spec.template.spec.containers[0].env,
    { 'metadata.namespace': 'learning', 'metadata.name': 'pod' },
    (name) => secrets[name],
  );
  const config = loadConfig(env);
  const settings = Object.keys(env).filter((name) => !notServiceSettings.test(name));
  expect(settings.length).toBeGreaterThan(3);
  for (const name of settings) {
    expect({ name, read: config[name] === undefined ? undefined : String(config[name]) }).toEqual({ name, read: env[name] });
  }
}

const scenarioNames = ['defaults', 'all-features'];

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
