// The "pod simulation": the umbrella chart's rendered workloads run as local processes (their
// command, args, working directory and environment; see support/pod-simulation.mjs), and their
// startup, liveness and readiness probes must pass on the rendered ports and paths; the Brain
// must reach the Logger through the LEARNING_EVENTS_URL the chart renders; deleting the Pods
// (preStop, SIGTERM) must end each process cleanly within its grace period.
import { helmTemplate, objectsOfKind } from './support/helm.mjs';
import { SimulatedPod } from './support/pod-simulation.mjs';
import { assertServiceBuilt, repoRoot, umbrellaChart } from './support/repository.mjs';

const NAMESPACE = 'learning';
const pods = {};
const running = [];
let services = [];

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
  const { objects } = await helmTemplate(umbrellaChart, { release: 'learning-analytics', namespace: NAMESPACE });
  services = objectsOfKind(objects, 'Service');
  for (const deployment of objectsOfKind(objects, 'Deployment')) {
    const pod = new SimulatedPod(deployment, { namespace: NAMESPACE, repoRoot });
    pods[pod.container.name] = pod;
  }
  await startPod('learning-events');
});

afterAll(async () => {
  for (const pod of running) await pod.cleanUp();
});

const json = async (response) => ({ status: response.status, body: await response.json() });

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

  test('passes its startup, liveness and readiness probes', async () => {
    await expectProbesPass(pods['learning-events']);
  });

  test('stores an event on the /data volume', async () => {
    const logger = pods['learning-events'];
    const base = `http://127.0.0.1:${logger.localPort('http')}`;
    const created = await fetch(`${base}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        user_id: 'pod-simulation',
        event_type: 'quiz_attempt',
        concept_id: 'fractions',
        event_details: { score: 90 },
      }),
    });
    expect(created.status).toBe(201);
    const timeline = await json(await fetch(`${base}/events/pod-simulation`));
    expect(timeline).toEqual({ status: 200, body: [expect.objectContaining({ concept_id: 'fractions' })] });
  });
});

describe('the Brain (concept-mastery)', () => {
  beforeAll(async () => {
    await startPod('concept-mastery');
  });

  test('passes its startup, liveness and readiness probes', async () => {
    await expectProbesPass(pods['concept-mastery']);
  });

  test('reaches the Logger through the rendered LEARNING_EVENTS_URL (the Logger Service)', async () => {
    const brain = pods['concept-mastery'];
    const logger = pods['learning-events'];
    expect(brain.container.env.find((variable) => variable.name === 'LEARNING_EVENTS_URL').value).toBe(
      'http://learning-analytics-learning-events:8000',
    );
    expect(brain.env.LEARNING_EVENTS_URL).toBe(`http://127.0.0.1:${logger.localPort('http')}`);
    const base = `http://127.0.0.1:${brain.localPort('http')}`;
    const recompute = await fetch(`${base}/mastery/recompute/pod-simulation`, { method: 'POST' });
    expect(recompute.status).toBe(200);
    const mastery = await json(await fetch(`${base}/mastery/pod-simulation/fractions`));
    expect(mastery).toEqual({
      status: 200,
      body: expect.objectContaining({ user_id: 'pod-simulation', concept_id: 'fractions', mastery_score: 100 }),
    });
  });
});

describe('deleting the Pods', () => {
  test('runs preStop, then SIGTERM: each process exits 0 within its grace period', async () => {
    const outcomes = await Promise.all(running.map(async (pod) => [pod.container.name, await pod.terminate()]));
    for (const [name, outcome] of outcomes) {
      const pod = pods[name];
      expect({ name, killed: outcome.killed, code: outcome.code }).toEqual({ name, killed: false, code: 0 });
      expect(outcome.seconds).toBeLessThan(pod.podSpec.terminationGracePeriodSeconds);
    }
  });
});
