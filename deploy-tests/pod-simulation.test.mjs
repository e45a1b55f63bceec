// The "pod simulation": the umbrella chart's rendered workloads run as local processes (their
// command, args, working directory, environment and volumes; see support/pod-simulation.mjs) in a
// simulated cluster whose API server issues ServiceAccount tokens and serves their keys
// (support/cluster-simulation.mjs). Their startup, liveness and readiness probes must pass on the
// rendered ports and paths, without a credential; the API must ask for one; the Logger must fetch
// the cluster's keys with its own ServiceAccount token, which the rendered ClusterRoleBinding
// admits; the Brain must reach the Logger through the LEARNING_EVENTS_URL the chart renders, with
// its projected token, which the Logger's rendered principals grant events:read; deleting the
// Pods (preStop, SIGTERM) must end each process cleanly within its grace period.
import { readFileSync } from 'node:fs';
import { SimulatedCluster } from './support/cluster-simulation.mjs';
import { helmTemplate, objectsOfKind } from './support/helm.mjs';
import { SimulatedPod } from './support/pod-simulation.mjs';
import { assertServiceBuilt, repoRoot, umbrellaChart } from './support/repository.mjs';

const NAMESPACE = 'learning';
// The caller of the tests: a workload of the namespace, granted scopes on both services the way a
// user of the chart grants them (auth.principals).
const CLIENT = 'pod-simulation-client';
const CLIENT_SUBJECT = `system:serviceaccount:${NAMESPACE}:${CLIENT}`;
const pods = {};
const running = [];
let services = [];
let cluster;

/** Prepares and starts one workload's Pod; the Services route to the Pods started so far. */
async function startPod(name) {
  assertServiceBuilt(name);
  const pod = pods[name];
  await pod.prepare();
  running.push(pod);
  pod.start(services, running);
  return pod;
}

beforeAll(async () => {
  const { objects } = await helmTemplate(umbrellaChart, {
    release: 'learning-analytics',
    namespace: NAMESPACE,
    set: [
      `learning-events.auth.principals.${CLIENT_SUBJECT}={events:write,events:read}`,
      `concept-mastery.auth.principals.${CLIENT_SUBJECT}={mastery:read,mastery:recompute}`,
    ],
  });
  cluster = await SimulatedCluster.start({ objects });
  services = objectsOfKind(objects, 'Service');
  for (const deployment of objectsOfKind(objects, 'Deployment')) {
    const pod = new SimulatedPod(deployment, { namespace: NAMESPACE, repoRoot, cluster });
    pods[pod.container.name] = pod;
  }
  await startPod('learning-events');
});

afterAll(async () => {
  for (const pod of running) await pod.cleanUp();
  await cluster?.close();
});

const json = async (response) => ({ status: response.status, body: await response.json() });
const bearer = (token) => ({ authorization: `Bearer ${token}` });
const clientToken = (audience) => cluster.issueToken({ namespace: NAMESPACE, serviceAccount: CLIENT, audience });
const claimsOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));

async function expectProbesPass(pod) {
  const { startupProbe, livenessProbe, readinessProbe } = pod.container;
  const startup = await pod.probeUntilSuccess(startupProbe, 'startup');
  expect(startup.attempt).toBeLessThanOrEqual(startupProbe.failureThreshold);
  // After startup, liveness and readiness each pass at their first attempt.
  expect(await pod.probeOnce(livenessProbe)).toEqual({ ok: true, status: 200 });
  expect(await pod.probeOnce(readinessProbe)).toEqual({ ok: true, status: 200 });
}

describe('the Logger (learning-events)', () => {
  test('runs the rendered command in the rendered working directory with the rendered environment', () => {
    const pod = pods['learning-events'];
    expect(pod.process.spawnargs).toEqual(['node', '--import', './dist/src/instrumentation.js', './dist/src/main.js']);
    expect(pod.workingDirectory()).toBe(`${repoRoot}/services/learning-events`);
    expect(pod.env.DATABASE_URL).toBe(`sqlite:${pod.mounts['/data']}/learning-events.db`);
    expect(pod.env.OTEL_RESOURCE_ATTRIBUTES).toContain(`k8s.namespace.name=${NAMESPACE},k8s.pod.name=${pod.name}`);
  });

  test('finds the cluster CA, its ServiceAccount token and its principals where the rendered environment says', () => {
    const logger = pods['learning-events'];
    expect(logger.env.AUTH_MODE).toBe('required');
    expect(logger.env.AUTH_JWT_ISSUER).toBe('https://kubernetes.default.svc.cluster.local');
    expect(readFileSync(logger.env.AUTH_JWT_CA_FILE, 'utf8')).toBe(cluster.caCertificate);
    expect(claimsOf(readFileSync(logger.env.AUTH_JWT_JWKS_TOKEN_FILE, 'utf8'))).toEqual(
      expect.objectContaining({ sub: 'system:serviceaccount:learning:learning-analytics-learning-events' }),
    );
    expect(JSON.parse(readFileSync(logger.env.AUTH_PRINCIPALS_FILE, 'utf8'))).toEqual({
      'system:serviceaccount:learning:learning-analytics-concept-mastery': ['events:read'],
      [CLIENT_SUBJECT]: ['events:write', 'events:read'],
    });
  });

  test('passes its startup, liveness and readiness probes, which carry no credential', async () => {
    await expectProbesPass(pods['learning-events']);
  });

  test('serves /metrics to a scrape without a credential', async () => {
    const response = await fetch(`http://127.0.0.1:${pods['learning-events'].localPort('http')}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^# HELP /m);
  });

  test('asks for a credential: none is 401, a token for another audience is 401', async () => {
    const base = `http://127.0.0.1:${pods['learning-events'].localPort('http')}`;
    expect((await fetch(`${base}/events/pod-simulation`)).status).toBe(401);
    expect((await fetch(`${base}/events/pod-simulation`, { headers: bearer(clientToken('concept-mastery')) })).status).toBe(401);
  });

  test('stores an event on the /data volume for a caller its principals grant events:write', async () => {
    const logger = pods['learning-events'];
    const base = `http://127.0.0.1:${logger.localPort('http')}`;
    const token = clientToken('learning-events');
    const created = await fetch(`${base}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({
        user_id: 'pod-simulation',
        event_type: 'quiz_attempt',
        concept_id: 'fractions',
        event_details: { score: 90 },
      }),
    });
    expect(created.status).toBe(201);
    const timeline = await json(await fetch(`${base}/events/pod-simulation`, { headers: bearer(token) }));
    expect(timeline).toEqual({ status: 200, body: [expect.objectContaining({ concept_id: 'fractions' })] });
  });

  test('fetched the JWKS from the API server with its own ServiceAccount token, which the ClusterRoleBinding admits', () => {
    expect(cluster.issuerRequests).toContainEqual({
      path: '/openid/v1/jwks',
      subject: 'system:serviceaccount:learning:learning-analytics-learning-events',
      status: 200,
    });
    expect(cluster.issuerRequests.filter((request) => request.status !== 200)).toEqual([]);
  });
});

describe('the Brain (concept-mastery)', () => {
  beforeAll(async () => {
    await startPod('concept-mastery');
  });

  test('passes its startup, liveness and readiness probes, which carry no credential', async () => {
    await expectProbesPass(pods['concept-mastery']);
  });

  test('shows the Logger a projected ServiceAccount token for the audience learning-events, which grants events:read only', async () => {
    const brain = pods['concept-mastery'];
    const token = readFileSync(brain.env.LEARNING_EVENTS_TOKEN_FILE, 'utf8');
    expect(claimsOf(token)).toEqual(
      expect.objectContaining({ aud: ['learning-events'], sub: 'system:serviceaccount:learning:learning-analytics-concept-mastery' }),
    );
    const logger = `http://127.0.0.1:${pods['learning-events'].localPort('http')}`;
    expect((await fetch(`${logger}/events/pod-simulation`, { headers: bearer(token) })).status).toBe(200);
    const write = await fetch(`${logger}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ user_id: 'pod-simulation', event_type: 'quiz_attempt', concept_id: 'fractions', event_details: { score: 1 } }),
    });
    expect(write.status).toBe(403);
  });

  test('reaches the Logger through the rendered LEARNING_EVENTS_URL (the Logger Service), with its token', async () => {
    const brain = pods['concept-mastery'];
    const logger = pods['learning-events'];
    expect(brain.container.env.find((variable) => variable.name === 'LEARNING_EVENTS_URL').value).toBe(
      'http://learning-analytics-learning-events:8000',
    );
    expect(brain.env.LEARNING_EVENTS_URL).toBe(`http://127.0.0.1:${logger.localPort('http')}`);
    const base = `http://127.0.0.1:${brain.localPort('http')}`;
    expect((await fetch(`${base}/mastery/recompute/pod-simulation`, { method: 'POST' })).status).toBe(401);
    const token = clientToken('concept-mastery');
    const recompute = await fetch(`${base}/mastery/recompute/pod-simulation`, { method: 'POST', headers: bearer(token) });
    expect(recompute.status).toBe(200);
    const mastery = await json(await fetch(`${base}/mastery/pod-simulation/fractions`, { headers: bearer(token) }));
    expect(mastery).toEqual({
      status: 200,
      body: expect.objectContaining({ user_id: 'pod-simulation', concept_id: 'fractions', mastery_score: 100 }),
    });
    // The Brain checked the caller's token against the JWKS, fetched with its own ServiceAccount.
    expect(cluster.issuerRequests).toContainEqual({
      path: '/openid/v1/jwks',
      subject: 'system:serviceaccount:learning:learning-analytics-concept-mastery',
      status: 200,
    });
  });
});

describe('deleting the Pods', () => {
  test('runs preStop, then SIGTERM: each process exits 0 within its grace period', async () => {
    const outcomes = await Promise.all(running.map(async (pod) => [pod.container.name, await pod.terminate()]));
    expect(outcomes.map(([name]) => name).sort()).toEqual(['concept-mastery', 'learning-events']);
    for (const [name, outcome] of outcomes) {
      const pod = pods[name];
      expect({ name, killed: outcome.killed, code: outcome.code }).toEqual({ name, killed: false, code: 0 });
      expect(outcome.seconds).toBeLessThan(pod.podSpec.terminationGracePeriodSeconds);
    }
  });
});
