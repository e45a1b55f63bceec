// values.schema.json: a values mistake stops helm before anything reaches the cluster, with a
// message that names the key. Checked through `helm template`, as `helm install` does it.
import { join } from 'node:path';
import { helmTemplate } from './support/helm.mjs';
import { chartsDir } from './support/repository.mjs';

const rejection = async (chart, set) => {
  try {
    await helmTemplate(join(chartsDir, chart), { set });
  } catch (error) {
    return error.output;
  }
  throw new Error(`helm accepted ${set.join(' ')} for ${chart}`);
};

describe.each(['learning-events', 'concept-mastery'])('the %s chart rejects', (chart) => {
  test.each([
    ['an unknown top-level key', ['replicaCount=2'], /Additional property replicaCount is not allowed/],
    ['an unknown nested key (a typo)', ['persistence.sise=5Gi'], /persistence: Additional property sise is not allowed/],
    ['a string where a number belongs', ['service.port=http'], /service\.port: Invalid type\. Expected: integer, given: string/],
    [
      'a number where a boolean belongs',
      ['persistence.enabled=1'],
      /persistence\.enabled: Invalid type\. Expected: boolean, given: integer/,
    ],
    ['a value outside the allowed set', ['config.logLevel=verbose'], /config\.logLevel: config\.logLevel must be one of the following/],
    ['an invalid quantity', ['persistence.size=lots'], /persistence\.size: Does not match pattern/],
    ['a port out of range', ['containerPort=70000'], /containerPort: Must be less than or equal to 65535/],
    ['an unknown probe setting', ['probes.readiness.path=/other'], /probes\.readiness: Additional property path is not allowed/],
    [
      'a shutdown bound above the service maximum',
      ['shutdown.appTimeoutSeconds=601', 'shutdown.terminationGracePeriodSeconds=700'],
      /shutdown\.appTimeoutSeconds: Must be less than or equal to 600/,
    ],
  ])('%s', async (_label, set, message) => {
    expect(await rejection(chart, set)).toMatch(message);
  });

  test('a shutdown budget that does not fit in the grace period', async () => {
    expect(await rejection(chart, ['shutdown.appTimeoutSeconds=26'])).toMatch(
      /shutdown budget: preStopSleepSeconds \(5\) \+ appTimeoutSeconds \(26\) must be less than terminationGracePeriodSeconds \(30\)/,
    );
  });
});

describe('service-specific settings are checked', () => {
  test.each([
    ['learning-events', ['config.eventTypes={Quiz-Attempt}'], /config\.eventTypes\.0: Does not match pattern/],
    ['learning-events', ['config.bodyLimitBytes=10'], /config\.bodyLimitBytes: Must be greater than or equal to 1024/],
    ['concept-mastery', ['config.passScore=101'], /config\.passScore: Must be less than or equal to 100/],
    ['concept-mastery', ['learningEvents.url=learning-events:8000'], /learningEvents\.url: Does not match pattern/],
  ])('%s %s', async (chart, set, message) => {
    expect(await rejection(chart, set)).toMatch(message);
  });
});

describe('the umbrella chart', () => {
  test('rejects an unknown key of its own', async () => {
    expect(await rejection('learning-analytics', ['learningEvents.url=http://x'])).toMatch(
      /Additional property learningEvents is not allowed/,
    );
  });

  test("checks each service's values with that service's schema", async () => {
    const output = await rejection('learning-analytics', [
      'learning-events.service.port=eighty',
      'concept-mastery.persistance.enabled=false',
    ]);
    expect(output).toMatch(/learning-events:\s*\n- service\.port: Invalid type\. Expected: integer, given: string/);
    expect(output).toMatch(/concept-mastery:\s*\n- \(root\): Additional property persistance is not allowed/);
  });

  test('accepts every documented default (the schemas agree with the values files)', async () => {
    for (const chart of ['learning-events', 'concept-mastery', 'learning-analytics']) {
      await expect(helmTemplate(join(chartsDir, chart))).resolves.toEqual(expect.objectContaining({ stderr: '' }));
    }
  });
});
