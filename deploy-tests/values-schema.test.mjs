// values.schema.json: a values mistake stops helm before anything reaches the cluster, with a
// message that names the key. Checked through `helm template`, as `helm install` does it.
import { join } from 'node:path';
import { helm, helmTemplate } from './support/helm.mjs';
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
    ['an unknown top-level key', ['replicas=2'], /Additional property replicas is not allowed/],
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

  test.each([
    ['a backup interval of 0', ['backup.intervalSeconds=0'], /backup\.intervalSeconds: Must be greater than or equal to 1/],
    ['a backup interval above a week', ['backup.intervalSeconds=604801'], /backup\.intervalSeconds: Must be less than or equal to 604800/],
    ['no backup kept', ['backup.keep=0'], /backup\.keep: Must be greater than or equal to 1/],
    ['more backups kept than the service allows', ['backup.keep=10001'], /backup\.keep: Must be less than or equal to 10000/],
    [
      'a backup interval that is not a number',
      ['backup.intervalSeconds=hourly'],
      /backup\.intervalSeconds: Invalid type\. Expected: \[integer,null\], given: string/,
    ],
    ['an invalid backup volume size', ['backup.persistence.size=lots'], /backup\.persistence\.size: Does not match pattern/],
    [
      'a read-only backup volume',
      ['backup.persistence.accessModes={ReadOnlyMany}'],
      /backup\.persistence\.accessModes\.0: backup\.persistence\.accessModes\.0 must be one of the following/,
    ],
    ['no backup access mode', ['backup.persistence.accessModes=null'], /backup\.persistence: accessModes is required/],
    ['an unknown backup key (a typo)', ['backup.intervalSecs=60'], /backup: Additional property intervalSecs is not allowed/],
  ])('%s', async (_label, set, message) => {
    expect(await rejection(chart, set)).toMatch(message);
  });

  test.each([
    ['no replica', ['replicaCount=0'], /replicaCount: Must be greater than or equal to 1/],
    ['no replica on PostgreSQL', ['replicaCount=0', 'database.existingSecret=pg'], /replicaCount: Must be greater than or equal to 1/],
    ['a database URL of another engine', ['database.url=mysql://user:password@mysql:3306/db'], /database\.url: Does not match pattern/],
    [
      'an SQLite URL (SQLite is the default: leave the URL empty)',
      ['database.url=sqlite:/data/x.db'],
      /database\.url: Does not match pattern/,
    ],
    ['a database URL with a space', ['database.url=postgres://user:pass word@postgres/db'], /database\.url: Does not match pattern/],
    [
      'both a database URL and a Secret',
      ['database.url=postgres://user:password@postgres:5432/db', 'database.existingSecret=pg'],
      /database\.existingSecret: String length must be less than or equal to 0/,
    ],
    ['a Secret name Kubernetes would refuse', ['database.existingSecret=Postgres_URL'], /database\.existingSecret: Does not match pattern/],
    [
      'an empty key of the Secret',
      ['database.existingSecret=pg', 'database.existingSecretKey='],
      /database\.existingSecretKey: Does not match pattern/,
    ],
    ['a pool of no connection', ['database.poolSize=0'], /database\.poolSize: Must be greater than or equal to 1/],
    ['a pool above the service maximum', ['database.poolSize=101'], /database\.poolSize: Must be less than or equal to 100/],
    [
      'a negative statement timeout',
      ['database.statementTimeoutMs=-1'],
      /database\.statementTimeoutMs: Must be greater than or equal to 0/,
    ],
    [
      'a statement timeout above an hour',
      ['database.statementTimeoutMs=3600001'],
      // (helm prints the bound as a float: 3.6e+06)
      /database\.statementTimeoutMs: Must be less than or equal to (3600000|3\.6e\+06)/,
    ],
    [
      'a connect timeout below 100 ms',
      ['database.connectTimeoutMs=99'],
      /database\.connectTimeoutMs: Must be greater than or equal to 100/,
    ],
    [
      'a connect timeout above ten minutes',
      ['database.connectTimeoutMs=600001'],
      /database\.connectTimeoutMs: Must be less than or equal to 600000/,
    ],
    [
      'a pool size that is not a number',
      ['database.poolSize=ten'],
      /database\.poolSize: Invalid type\. Expected: \[integer,null\], given: string/,
    ],
    [
      'an unknown database key (a typo)',
      ['database.existingSecretName=pg'],
      /database: Additional property existingSecretName is not allowed/,
    ],
  ])('%s', async (_label, set, message) => {
    expect(await rejection(chart, set)).toMatch(message);
  });

  // SQLite has a single writer: the schema's if/then (database.url and database.existingSecret
  // both empty) holds replicaCount at 1 and autoscaling off, and names the key.
  test.each([
    ['several replicas on SQLite', ['replicaCount=2'], /replicaCount: Must be less than or equal to 1/],
    [
      'several replicas on SQLite without persistence',
      ['replicaCount=2', 'persistence.enabled=false'],
      /replicaCount: Must be less than or equal to 1/,
    ],
    ['autoscaling on SQLite', ['autoscaling.enabled=true'], /autoscaling\.enabled: autoscaling\.enabled does not match: false/],
  ])('%s', async (_label, set, message) => {
    const output = await rejection(chart, set);
    expect(output).toMatch(message);
    expect(output).toMatch(/\(root\): Must validate "then" as "if" was valid/);
  });

  test('helm lint fails on several replicas on SQLite, naming the key', async () => {
    const lint = helm(['lint', '--strict', join(chartsDir, chart), '--set', 'replicaCount=2']);
    await expect(lint).rejects.toThrow(/replicaCount: Must be less than or equal to 1/);
    await expect(lint).rejects.toThrow(/1 chart\(s\) linted, 1 chart\(s\) failed/);
  });

  test.each([
    [
      'a budget of no Pod',
      ['podDisruptionBudget.maxUnavailable=0'],
      /podDisruptionBudget\.maxUnavailable: Must be greater than or equal to 1/,
    ],
    ['a budget of 0%', ['podDisruptionBudget.maxUnavailable=0%'], /podDisruptionBudget\.maxUnavailable: Does not match pattern/],
    ['minAvailable 0', ['podDisruptionBudget.minAvailable=0'], /podDisruptionBudget\.minAvailable: Must be greater than or equal to 1/],
    ['a percentage above 100', ['rollingUpdate.maxSurge=150%'], /rollingUpdate\.maxSurge: Does not match pattern/],
    [
      'a surge that is neither a number nor a percentage',
      ['rollingUpdate.maxSurge=one'],
      /rollingUpdate\.maxSurge: Does not match pattern/,
    ],
    ['a negative surge', ['rollingUpdate.maxSurge=-1'], /rollingUpdate\.maxSurge: Must be greater than or equal to 0/],
    [
      'an autoscaler of no Pod',
      ['database.existingSecret=pg', 'autoscaling.minReplicas=0'],
      /autoscaling\.minReplicas: Must be greater than or equal to 1/,
    ],
    [
      'a CPU target of 0',
      ['autoscaling.targetCPUUtilizationPercentage=0'],
      /autoscaling\.targetCPUUtilizationPercentage: Must be greater than or equal to 1/,
    ],
    ['an unknown autoscaling key (a typo)', ['autoscaling.targetCPU=80'], /autoscaling: Additional property targetCPU is not allowed/],
    [
      'an unknown budget key (a typo)',
      ['podDisruptionBudget.maxUnavailble=1'],
      /podDisruptionBudget: Additional property maxUnavailble is not allowed/,
    ],
  ])('%s', async (_label, set, message) => {
    expect(await rejection(chart, set)).toMatch(message);
  });

  test.each([
    ['several replicas on PostgreSQL (a Secret)', ['replicaCount=5', 'database.existingSecret=pg']],
    ['several replicas on PostgreSQL (a URL)', ['replicaCount=2', 'database.url=postgres://user@postgres:5432/db']],
    [
      'autoscaling on PostgreSQL',
      ['database.existingSecret=pg', 'autoscaling.enabled=true', 'autoscaling.minReplicas=3', 'autoscaling.maxReplicas=3'],
    ],
    [
      'percentages in the rollout and the budget',
      ['database.existingSecret=pg', 'replicaCount=4', 'rollingUpdate.maxSurge=25%', 'podDisruptionBudget.maxUnavailable=50%'],
    ],
  ])('accepts %s', async (_label, set) => {
    await expect(helmTemplate(join(chartsDir, chart), { set })).resolves.toEqual(expect.objectContaining({ stderr: '' }));
  });

  test.each([
    ['a postgres:// URL', ['database.url=postgres://user:p%40ss@postgres.databases.svc:5432/db?sslmode=verify-full']],
    ['a postgresql:// URL', ['database.url=postgresql://postgres/db']],
    [
      'a Secret, with its key and every setting at its bounds',
      [
        'database.existingSecret=pg.urls',
        'database.existingSecretKey=learning-events_url',
        'database.poolSize=100',
        'database.statementTimeoutMs=3600000',
        'database.connectTimeoutMs=100',
      ],
    ],
  ])('accepts %s', async (_label, set) => {
    await expect(helmTemplate(join(chartsDir, chart), { set })).resolves.toEqual(expect.objectContaining({ stderr: '' }));
  });

  test('a shutdown budget that does not fit in the grace period', async () => {
    expect(await rejection(chart, ['shutdown.appTimeoutSeconds=26'])).toMatch(
      /shutdown budget: preStopSleepSeconds \(5\) \+ appTimeoutSeconds \(26\) must be less than terminationGracePeriodSeconds \(30\)/,
    );
  });

  test.each([
    ['an unknown auth mode', ['auth.mode=optional'], /auth\.mode: auth\.mode must be one of the following: "required", "off"/],
    // A bare `off` in a YAML values file is the boolean false.
    ['a boolean auth mode', ['auth.mode=false'], /auth\.mode: auth\.mode must be one of the following: "required", "off"/],
    [
      'an unknown scope',
      ['auth.principals.system:serviceaccount:learning:app={events:delete}'],
      /auth\.principals\.system:serviceaccount:learning:app\.0: auth\.principals\.system:serviceaccount:learning:app\.0 must be one of the following: "events:write", "events:read", "mastery:read", "mastery:recompute", "admin"/,
    ],
    ['scopes that are not a list', ['auth.principals.app=admin'], /auth\.principals\.app: Invalid type\. Expected: array, given: string/],
    ['an issuer that is not a URL', ['auth.jwt.issuer=kubernetes.default.svc'], /auth\.jwt\.issuer: Does not match pattern/],
    ['a relative CA file', ['auth.jwt.caFile=ca.crt'], /auth\.jwt\.caFile: Does not match pattern/],
    ['an unknown auth.jwt key (a typo)', ['auth.jwt.jwksURL=https://x'], /auth\.jwt: Additional property jwksURL is not allowed/],
    [
      'an API server address that is not a CIDR',
      ['networkPolicy.egress.apiServerCidrs={172.18.0.2}'],
      /networkPolicy\.egress\.apiServerCidrs\.0: Does not match pattern/,
    ],
  ])('%s', async (_label, set, message) => {
    expect(await rejection(chart, set)).toMatch(message);
  });

  test.each([
    [
      'auth required without a credential source',
      ['auth.jwt.enabled=false'],
      /auth\.mode is required but the service would accept no credential: enable auth\.jwt, set auth\.apiKeys\.existingSecret, or set auth\.mode=off/,
    ],
    [
      "the Pod's token sent to an issuer outside the cluster",
      ['auth.jwt.issuer=https://accounts.example.com', 'auth.jwt.jwksUrl='],
      /auth\.jwt\.tokenFile would send the Pod's token to accounts\.example\.com, which is not the cluster's API server/,
    ],
    [
      'egress rules that would cut the service off from the JWKS',
      ['networkPolicy.enabled=true', 'networkPolicy.egress.enabled=true'],
      /networkPolicy\.egress\.enabled blocks the JWKS fetch from the API server: list the API server's addresses in networkPolicy\.egress\.apiServerCidrs/,
    ],
  ])('%s', async (_label, set, message) => {
    expect(await rejection(chart, set)).toMatch(message);
  });

  test('accepts an issuer outside the cluster once the Pod token stays home', async () => {
    await expect(
      helmTemplate(join(chartsDir, chart), {
        set: ['auth.jwt.issuer=https://accounts.example.com', 'auth.jwt.jwksUrl=', 'auth.jwt.tokenFile=', 'auth.jwt.caFile='],
      }),
    ).resolves.toEqual(expect.objectContaining({ stderr: '' }));
  });
});

describe('service-specific settings are checked', () => {
  test.each([
    ['learning-events', ['config.eventTypes={Quiz-Attempt}'], /config\.eventTypes\.0: Does not match pattern/],
    ['learning-events', ['config.bodyLimitBytes=10'], /config\.bodyLimitBytes: Must be greater than or equal to 1024/],
    ['concept-mastery', ['config.passScore=101'], /config\.passScore: Must be less than or equal to 100/],
    ['concept-mastery', ['learningEvents.url=learning-events:8000'], /learningEvents\.url: Does not match pattern/],
    [
      'concept-mastery',
      ['learningEvents.auth.mode=token'],
      /learningEvents\.auth\.mode: learningEvents\.auth\.mode must be one of the following: "serviceAccountToken", "apiKey", "none"/,
    ],
    [
      'concept-mastery',
      ['learningEvents.auth.tokenExpirationSeconds=60'],
      /learningEvents\.auth\.tokenExpirationSeconds: Must be greater than or equal to 600/,
    ],
    [
      'concept-mastery',
      ['learningEvents.auth.mode=apiKey'],
      /learningEvents\.auth\.mode is apiKey: set learningEvents\.auth\.apiKey\.existingSecret to the Secret holding the key/,
    ],
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
