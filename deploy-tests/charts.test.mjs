// The Helm charts: helm lint and helm template for the defaults and every ci/*-values.yaml
// scenario; every rendered object valid against the Kubernetes API schemas; the invariants of each
// engine's workload (one Pod and Recreate on SQLite; replicas, a RollingUpdate, a
// PodDisruptionBudget that never blocks a drain and an optional autoscaler on PostgreSQL);
// authentication (the AUTH_* environment, the files it names, the ServiceAccount token and the
// RBAC binding it needs); the optional features; PostgreSQL (the URL from a Secret, no claim,
// several replicas, autoscaling, the refusals); the umbrella's wiring (the Brain's grant on the
// Logger, the NetworkPolicies, a database per service).
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findObject, helm, helmTemplate, isHook, objectsOfKind, renderNotes } from './support/helm.mjs';
import { validateKubernetesObjects } from './support/kubernetes-schema.mjs';
import { chartsDir, umbrellaChart } from './support/repository.mjs';
import { allScenarios, scenariosOf } from './support/scenarios.mjs';

const RELEASE = 'la';
const NAMESPACE = 'learning';
const rendered = new Map();

/** Renders a scenario once; the tests below share the result. */
function render(scenario) {
  const key = `${scenario.chart}/${scenario.name}`;
  if (!rendered.has(key)) {
    rendered.set(
      key,
      helmTemplate(join(chartsDir, scenario.chart), { release: RELEASE, namespace: NAMESPACE, valuesFiles: scenario.valuesFiles }),
    );
  }
  return rendered.get(key);
}

/** The objects of `kind` in a render, at least one: a check looped over none would pass having checked nothing. */
function someOfKind(objects, kind) {
  const found = objectsOfKind(objects, kind);
  if (found.length === 0) throw new Error(`the render has no ${kind}, so the checks of each ${kind} would check nothing`);
  return found;
}

/**
 * The Pods a PodDisruptionBudget lets the eviction API take out of `replicas` healthy ones, as the
 * disruption controller counts them: percentages of the replicas, rounded up.
 */
function disruptionsAllowed({ minAvailable, maxUnavailable }, replicas) {
  const scaled = (value) => (typeof value === 'string' ? Math.ceil((Number(value.replace(/%$/, '')) * replicas) / 100) : value);
  const desiredHealthy = minAvailable === undefined ? replicas - scaled(maxUnavailable) : scaled(minAvailable);
  return Math.max(0, replicas - desiredHealthy);
}

const scenarioTable = allScenarios().map((scenario) => [`${scenario.chart} ${scenario.name}`, scenario]);
const envOf = (container) => Object.fromEntries((container.env ?? []).map((variable) => [variable.name, variable]));

describe.each(scenarioTable)('%s', (_label, scenario) => {
  test('helm lint --strict passes', async () => {
    const args = ['lint', '--strict', join(chartsDir, scenario.chart), '--namespace', NAMESPACE];
    for (const file of scenario.valuesFiles) args.push('--values', file);
    const { stdout } = await helm(args);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  test('helm template renders objects that are valid against the Kubernetes API schemas', async () => {
    const { objects, stderr } = await render(scenario);
    expect(stderr).toBe('');
    expect(objects.length).toBeGreaterThan(0);
    expect(await validateKubernetesObjects(objects)).toEqual({});
  });

  test('every object carries the app.kubernetes.io labels', async () => {
    const { objects } = await render(scenario);
    for (const object of objects) {
      const labels = object.metadata.labels ?? {};
      expect({ object: `${object.kind}/${object.metadata.name}`, labels }).toEqual({
        object: `${object.kind}/${object.metadata.name}`,
        labels: expect.objectContaining({
          'app.kubernetes.io/name': expect.any(String),
          'app.kubernetes.io/instance': RELEASE,
          'app.kubernetes.io/managed-by': 'Helm',
          'app.kubernetes.io/part-of': 'learning-analytics',
          'helm.sh/chart': expect.stringMatching(/^[a-z-]+-\d+\.\d+\.\d+/),
        }),
      });
    }
  });

  test('each service is a workload of its engine (one Pod on SQLite, replicas on PostgreSQL) with probes, limits and a locked-down container', async () => {
    const { objects } = await render(scenario);
    const deployments = objectsOfKind(objects, 'Deployment');
    expect(deployments.length).toBeGreaterThan(0);
    for (const deployment of deployments) {
      const { spec } = deployment;
      const pod = spec.template.spec;
      const [container] = pod.containers;
      const env = envOf(container);
      const postgres = Boolean(env.DATABASE_URL.valueFrom) || /^postgres(ql)?:\/\//.test(env.DATABASE_URL.value);

      // SQLite: one writer, and the old Pod gone before the new one opens the database.
      // PostgreSQL: replicas, replaced by a RollingUpdate; the autoscaler, when there is one,
      // owns the number. The budget and the autoscaler select exactly the Deployment's Pods.
      const name = deployment.metadata.name;
      const budget = findObject(objects, 'PodDisruptionBudget', name);
      const autoscaler = findObject(objects, 'HorizontalPodAutoscaler', name);
      if (postgres) {
        expect(spec.strategy.type).toBe('RollingUpdate');
        if (autoscaler) {
          expect(spec.replicas).toBeUndefined();
          expect(autoscaler.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
          expect(container.resources.requests.cpu).toEqual(expect.any(String));
        } else {
          expect(spec.replicas).toBeGreaterThanOrEqual(1);
        }
        if (budget) {
          expect(budget.spec.selector.matchLabels).toEqual(spec.selector.matchLabels);
          // A node drain: never blocked, even at the fewest replicas, and with two or more it
          // leaves at least one Pod answering while it evicts.
          const fewest = autoscaler ? autoscaler.spec.minReplicas : spec.replicas;
          const evictable = disruptionsAllowed(budget.spec, fewest);
          expect({ name, fewest, evictable: evictable >= 1 }).toEqual({ name, fewest, evictable: true });
          if (fewest >= 2) expect({ name, fewest, answering: fewest - evictable >= 1 }).toEqual({ name, fewest, answering: true });
        }
      } else {
        expect(spec.replicas).toBe(1);
        expect(spec.strategy).toEqual({ type: 'Recreate' });
        expect(budget).toBeUndefined();
        expect(autoscaler).toBeUndefined();
      }
      expect(Object.keys(spec.selector.matchLabels).sort()).toEqual(['app.kubernetes.io/instance', 'app.kubernetes.io/name']);
      expect(spec.template.metadata.labels).toEqual(expect.objectContaining(spec.selector.matchLabels));
      expect(pod.containers).toHaveLength(1);

      // The image's CMD, written out; the image's WORKDIR.
      expect(container.command).toEqual(['node']);
      expect(container.args).toEqual(['--import', './dist/src/instrumentation.js', './dist/src/main.js']);
      expect(container.workingDir).toBe(`/app/services/${container.name}`);
      expect(container.image).toMatch(new RegExp(`/?learning-analytics/${container.name}:[\\w.-]+$`));

      // Probes on the named http port.
      const httpPort = container.ports.find((port) => port.name === 'http');
      expect(httpPort.containerPort).toBe(Number(env.PORT.value));
      expect(container.startupProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });

      // SQLite: the database on /data, the only writable paths /data, /tmp and, with scheduled
      // backups, their volume at BACKUP_DIR. PostgreSQL (its URL from a Secret or the values): no
      // data volume and no backups, /tmp the only writable path. Every other mount (the
      // credentials) read-only.
      if (postgres) {
        if (env.DATABASE_URL.valueFrom) expect(Object.keys(env.DATABASE_URL.valueFrom)).toEqual(['secretKeyRef']);
        expect(env.BACKUP_DIR).toBeUndefined();
        expect(findObject(objects, 'PersistentVolumeClaim', deployment.metadata.name)).toBeUndefined();
      } else {
        expect(env.DATABASE_URL.value).toBe(`sqlite:/data/${container.name}.db`);
        for (const name of Object.keys(env)) expect(name).not.toMatch(/^DATABASE_(?!URL$)/);
      }
      const writable = container.volumeMounts.filter((mount) => !mount.readOnly);
      expect(Object.fromEntries(writable.map((mount) => [mount.mountPath, mount.name]))).toEqual({
        ...(!postgres && { '/data': 'data' }),
        '/tmp': 'tmp',
        ...(env.BACKUP_DIR && { [env.BACKUP_DIR.value]: 'backups' }),
      });
      const volumes = Object.fromEntries(pod.volumes.map((volume) => [volume.name, volume]));
      if (env.BACKUP_DIR) expect(volumes.backups.persistentVolumeClaim.claimName).toEqual(expect.any(String));
      for (const mount of container.volumeMounts)
        expect({ mount: mount.name, volume: Boolean(volumes[mount.name]) }).toEqual({ mount: mount.name, volume: true });

      // Authentication: a mode always; every file the environment names is on a mounted volume.
      expect(['required', 'off']).toContain(env.AUTH_MODE.value);
      for (const variable of Object.values(env).filter((candidate) => /_FILE$/.test(candidate.name))) {
        const mount = container.volumeMounts.find((candidate) => variable.value.startsWith(`${candidate.mountPath}/`));
        expect({ variable: variable.name, mountedReadOnly: mount?.readOnly === true }).toEqual({
          variable: variable.name,
          mountedReadOnly: true,
        });
      }
      if (env.AUTH_MODE.value === 'off') expect(Object.keys(env).filter((name) => name.startsWith('AUTH_'))).toEqual(['AUTH_MODE']);
      expect(volumes.tmp.emptyDir).toBeDefined();
      if (postgres) expect(volumes.data).toBeUndefined();
      else expect(volumes.data.persistentVolumeClaim ?? volumes.data.emptyDir).toBeDefined();

      // Non-root, read-only, no privileges.
      expect(pod.securityContext).toEqual(
        expect.objectContaining({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } }),
      );
      expect(container.securityContext).toEqual(
        expect.objectContaining({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        }),
      );
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.enableServiceLinks).toBe(false);
      expect(container.resources.requests).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
      expect(container.resources.limits).toEqual(expect.objectContaining({ memory: expect.anything() }));

      // The shutdown budget: preStop sleep + the service's own bound fit in the grace period.
      const preStopSeconds = Number(container.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
      const appTimeoutSeconds = Number(env.SHUTDOWN_TIMEOUT_MS.value) / 1000;
      expect(preStopSeconds + appTimeoutSeconds).toBeLessThan(pod.terminationGracePeriodSeconds);

      // OpenTelemetry: service name, and where the telemetry comes from (downward API).
      expect(env.OTEL_SERVICE_NAME.value).toEqual(expect.any(String));
      expect(env.POD_NAMESPACE.valueFrom.fieldRef.fieldPath).toBe('metadata.namespace');
      expect(env.POD_NAME.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
      expect(env.OTEL_RESOURCE_ATTRIBUTES.value).toMatch(/(^|,)k8s\.namespace\.name=\$\(POD_NAMESPACE\)(,|$)/);
      expect(env.OTEL_RESOURCE_ATTRIBUTES.value).toMatch(/(^|,)k8s\.pod\.name=\$\(POD_NAME\)(,|$)/);
      const names = container.env.map((variable) => variable.name);
      expect(names.indexOf('POD_NAMESPACE')).toBeLessThan(names.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
      expect(names.indexOf('POD_NAME')).toBeLessThan(names.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
    }
  });

  test('each Service routes its port to the Deployment it selects', async () => {
    const { objects } = await render(scenario);
    for (const deployment of someOfKind(objects, 'Deployment')) {
      const service = findObject(objects, 'Service', deployment.metadata.name);
      expect(service).toBeDefined();
      expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
      const [port] = service.spec.ports;
      const [container] = deployment.spec.template.spec.containers;
      expect(container.ports.map((containerPort) => containerPort.name)).toContain(port.targetPort);
      expect(port.port).toBe({ 'learning-events': 8000, 'concept-mastery': 8001 }[container.name]);
    }
  });

  test('the helm test Pod checks /ready of the Service and is never selected by it', async () => {
    const { objects } = await render(scenario);
    for (const service of someOfKind(objects, 'Service')) {
      const testPod = findObject(objects, 'Pod', `${service.metadata.name}-test-ready`);
      expect(testPod.metadata.annotations['helm.sh/hook']).toBe('test');
      expect(envOf(testPod.spec.containers[0]).READY_URL.value).toBe(`http://${service.metadata.name}:${service.spec.ports[0].port}/ready`);
      const selected = Object.entries(service.spec.selector).every(([key, value]) => testPod.metadata.labels[key] === value);
      expect(selected).toBe(false);
    }
  });

  test('the Grafana dashboards ship as ConfigMaps for the sidecar, identical to the chart files', async () => {
    const { objects } = await render(scenario);
    const configMaps = objectsOfKind(objects, 'ConfigMap').filter((configMap) => configMap.metadata.name.endsWith('-dashboard'));
    expect(configMaps).toHaveLength(objectsOfKind(objects, 'Deployment').length);
    for (const configMap of configMaps) {
      expect(configMap.metadata.labels.grafana_dashboard).toBe('1');
      const [[key, json]] = Object.entries(configMap.data);
      const service = key.replace(/\.json$/, '');
      expect(json).toBe(readFileSync(join(chartsDir, service, 'dashboards', key), 'utf8').trimEnd());
      expect(JSON.parse(json).uid).toBe(service);
    }
  });
});

describe('optional features', () => {
  const allFeatures = (chart) => scenariosOf(chart).find((scenario) => scenario.name === 'all-features');

  test.each(['learning-events', 'concept-mastery', 'learning-analytics'])(
    '%s all-features renders a ServiceMonitor, a NetworkPolicy and an Ingress per service',
    async (chart) => {
      const { objects } = await render(allFeatures(chart));
      for (const deployment of someOfKind(objects, 'Deployment')) {
        const name = deployment.metadata.name;
        const monitor = findObject(objects, 'ServiceMonitor', name);
        expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
        expect(monitor.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
        expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
        expect(monitor.spec.jobLabel).toBe('app.kubernetes.io/name');

        const policy = findObject(objects, 'NetworkPolicy', name);
        expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
        expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);

        const ingress = findObject(objects, 'Ingress', name);
        for (const rule of ingress.spec.rules) {
          for (const path of rule.http.paths)
            expect(path.backend.service).toEqual({ name, port: { number: findObject(objects, 'Service', name).spec.ports[0].port } });
        }
      }
    },
  );

  test('the Logger NetworkPolicy admits the Brain, its test Pod and the configured clients only', async () => {
    const { objects } = await render(allFeatures('learning-analytics'));
    const policy = findObject(objects, 'NetworkPolicy', `${RELEASE}-learning-events`);
    const brain = findObject(objects, 'Deployment', `${RELEASE}-concept-mastery`);
    const [rule] = policy.spec.ingress;
    expect(rule.ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
    const admits = (labels) =>
      rule.from.some(
        (peer) =>
          !peer.namespaceSelector &&
          !peer.ipBlock &&
          Object.entries(peer.podSelector.matchLabels).every(([key, value]) => labels[key] === value),
      );
    expect(admits(brain.spec.template.metadata.labels)).toBe(true);
    expect(admits(findObject(objects, 'Pod', `${RELEASE}-learning-events-test-ready`).metadata.labels)).toBe(true);
    expect(admits({ 'app.kubernetes.io/name': 'something-else', 'app.kubernetes.io/instance': RELEASE })).toBe(false);
    expect(rule.from).toContainEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } });
  });

  test.each(['learning-events', 'concept-mastery', 'learning-analytics'])(
    '%s: persistence disabled keeps the data in an emptyDir and creates no claim',
    async (chart) => {
      const { objects } = await render(scenariosOf(chart).find((scenario) => scenario.name === 'persistence-disabled'));
      expect(objectsOfKind(objects, 'PersistentVolumeClaim')).toEqual([]);
      for (const deployment of someOfKind(objects, 'Deployment')) {
        expect(deployment.spec.template.spec.volumes.find((volume) => volume.name === 'data')).toEqual({ name: 'data', emptyDir: {} });
      }
    },
  );

  test.each(['learning-events', 'concept-mastery', 'learning-analytics'])(
    '%s: an existing claim is mounted and no claim is created',
    async (chart) => {
      const { objects } = await render(scenariosOf(chart).find((scenario) => scenario.name === 'existing-claim'));
      expect(objectsOfKind(objects, 'PersistentVolumeClaim')).toEqual([]);
      for (const deployment of someOfKind(objects, 'Deployment')) {
        const [container] = deployment.spec.template.spec.containers;
        expect(deployment.spec.template.spec.volumes.find((volume) => volume.name === 'data')).toEqual({
          name: 'data',
          persistentVolumeClaim: { claimName: `${container.name}-data` },
        });
      }
    },
  );

  test.each(['learning-events', 'concept-mastery'])('%s: by default a ReadWriteOnce claim of 1Gi holds the database', async (chart) => {
    const { objects } = await render(scenariosOf(chart)[0]);
    const [claim] = objectsOfKind(objects, 'PersistentVolumeClaim');
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
    const deployment = objectsOfKind(objects, 'Deployment')[0];
    expect(deployment.spec.template.spec.volumes).toContainEqual({
      name: 'data',
      persistentVolumeClaim: { claimName: claim.metadata.name },
    });
  });

  test('umbrella defaults: the Prometheus scrape annotations, the auth objects, the NetworkPolicies and no other optional object', async () => {
    const { objects } = await render(scenariosOf('learning-analytics')[0]);
    expect(objects.map((object) => `${object.kind}/${object.metadata.name}`).sort()).toEqual([
      `ClusterRoleBinding/${RELEASE}-concept-mastery-${NAMESPACE}-issuer-discovery`,
      `ClusterRoleBinding/${RELEASE}-learning-events-${NAMESPACE}-issuer-discovery`,
      `ConfigMap/${RELEASE}-concept-mastery-dashboard`,
      `ConfigMap/${RELEASE}-learning-events-dashboard`,
      `ConfigMap/${RELEASE}-learning-events-principals`,
      `Deployment/${RELEASE}-concept-mastery`,
      `Deployment/${RELEASE}-learning-events`,
      `NetworkPolicy/${RELEASE}-concept-mastery`,
      `NetworkPolicy/${RELEASE}-learning-events`,
      `PersistentVolumeClaim/${RELEASE}-concept-mastery`,
      `PersistentVolumeClaim/${RELEASE}-learning-events`,
      `Pod/${RELEASE}-concept-mastery-test-ready`,
      `Pod/${RELEASE}-learning-events-test-ready`,
      `Service/${RELEASE}-concept-mastery`,
      `Service/${RELEASE}-learning-events`,
      `ServiceAccount/${RELEASE}-concept-mastery`,
      `ServiceAccount/${RELEASE}-learning-events`,
    ]);
    for (const deployment of someOfKind(objects, 'Deployment')) {
      const [container] = deployment.spec.template.spec.containers;
      const principals = findObject(objects, 'ConfigMap', `${deployment.metadata.name}-principals`);
      expect(deployment.spec.template.metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(container.ports[0].containerPort),
        'prometheus.io/path': '/metrics',
        ...(principals && { 'checksum/principals': createHash('sha256').update(principals.data['principals.json']).digest('hex') }),
      });
    }
  });

  test('service settings and an OTLP endpoint reach the environment', async () => {
    const { objects } = await render(scenariosOf('learning-events').find((scenario) => scenario.name === 'all-features'));
    const env = envOf(objectsOfKind(objects, 'Deployment')[0].spec.template.spec.containers[0]);
    expect(env.EVENT_TYPES.value).toBe('quiz_attempt,video_watched,assignment_submitted,forum_post');
    expect(env.BODY_LIMIT_BYTES.value).toBe('65536');
    expect(env.BATCH_BODY_LIMIT_BYTES.value).toBe('8388608');
    expect(env.LOG_LEVEL.value).toBe('debug');
    expect(env.SHUTDOWN_TIMEOUT_MS.value).toBe('30000');
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT.value).toBe('http://otel-collector.observability:4318');
    expect(env.OTEL_SERVICE_NAME.value).toBe('learning-events-staging');
    expect(env.OTEL_RESOURCE_ATTRIBUTES.value).toMatch(/(^|,)deployment\.environment=staging(,|$)/);
    expect(env.NODE_OPTIONS.value).toBe('--max-old-space-size=384');
  });
});

describe('the umbrella chart', () => {
  test.each(['la', 'learning-events-prod'])(
    'release %s: the Brain calls the Logger through the Logger Service of the same release',
    async (release) => {
      const { objects } = await helmTemplate(umbrellaChart, { release, namespace: NAMESPACE });
      const logger = objectsOfKind(objects, 'Service').find(
        (service) => service.metadata.labels['app.kubernetes.io/name'] === 'learning-events',
      );
      const brain = objectsOfKind(objects, 'Deployment').find(
        (deployment) => deployment.metadata.labels['app.kubernetes.io/name'] === 'concept-mastery',
      );
      const url = new URL(envOf(brain.spec.template.spec.containers[0]).LEARNING_EVENTS_URL.value);
      expect(url.hostname).toBe(logger.metadata.name);
      expect(Number(url.port)).toBe(logger.spec.ports[0].port);
    },
  );

  test('a standalone Brain calls the Logger at learningEvents.url', async () => {
    const { objects } = await helmTemplate(join(chartsDir, 'concept-mastery'), { release: 'concept-mastery', namespace: NAMESPACE });
    const [brain] = objectsOfKind(objects, 'Deployment');
    expect(envOf(brain.spec.template.spec.containers[0]).LEARNING_EVENTS_URL.value).toBe('http://learning-events:8000');
    // ...which is the Service of the Logger chart installed as release "learning-events".
    const { objects: loggerObjects } = await helmTemplate(join(chartsDir, 'learning-events'), {
      release: 'learning-events',
      namespace: NAMESPACE,
    });
    expect(objectsOfKind(loggerObjects, 'Service')[0].metadata.name).toBe('learning-events');
  });

  test('either service can be left out', async () => {
    const { objects } = await helmTemplate(umbrellaChart, { set: ['concept-mastery.enabled=false'] });
    expect(objectsOfKind(objects, 'Deployment').map((deployment) => deployment.metadata.labels['app.kubernetes.io/name'])).toEqual([
      'learning-events',
    ]);
    const { objects: brainOnly } = await helmTemplate(umbrellaChart, { set: ['learning-events.enabled=false'] });
    expect(objectsOfKind(brainOnly, 'Deployment').map((deployment) => deployment.metadata.labels['app.kubernetes.io/name'])).toEqual([
      'concept-mastery',
    ]);
  });

  test('the dev values used by the Tiltfile render valid objects that run the image CMD', async () => {
    const { objects, stderr } = await helmTemplate(umbrellaChart, { valuesFiles: [join(umbrellaChart, 'values-dev.yaml')] });
    expect(stderr).toBe('');
    expect(await validateKubernetesObjects(objects.filter((object) => !isHook(object)))).toEqual({});
    for (const deployment of someOfKind(objects, 'Deployment')) {
      const [container] = deployment.spec.template.spec.containers;
      expect(container.command).toBeUndefined();
      expect(container.args).toBeUndefined();
      expect(container.securityContext.readOnlyRootFilesystem).toBe(false);
    }
  });

  test.each([
    ['learning-events', 'la-learning-events', /port-forward service\/la-learning-events 8000:8000/],
    ['concept-mastery', 'la-concept-mastery', /reads learning events from http:\/\/learning-events:8000/],
    ['learning-analytics', 'la', /helm test la --namespace learning/],
  ])('NOTES.txt of %s renders', async (chart, name, expected) => {
    const notes = await renderNotes(join(chartsDir, chart), { release: RELEASE, namespace: NAMESPACE });
    expect(notes).toContain(name);
    expect(notes).toMatch(expected);
  });
});

describe('PostgreSQL (database.existingSecret or database.url)', () => {
  /**
   * The render's Deployment of `chart` (a service chart or the umbrella), its env by name, its
   * volumes and mounts, the claims, and its PodDisruptionBudget and HorizontalPodAutoscaler.
   */
  const postgresOf = async (chart, { set = [], valuesFiles = [], service = chart } = {}) => {
    const { objects } = await helmTemplate(join(chartsDir, chart), { release: RELEASE, namespace: NAMESPACE, set, valuesFiles });
    const deployment = someOfKind(objects, 'Deployment').find(
      (candidate) => candidate.metadata.labels['app.kubernetes.io/name'] === service,
    );
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    const env = envOf(container);
    return {
      objects,
      deployment,
      env,
      database: Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith('DATABASE_'))),
      mounts: container.volumeMounts.map((mount) => mount.mountPath),
      volumes: pod.volumes.map((volume) => volume.name),
      claims: objectsOfKind(objects, 'PersistentVolumeClaim').map((claim) => claim.metadata.name),
      budget: findObject(objects, 'PodDisruptionBudget', deployment.metadata.name),
      autoscaler: findObject(objects, 'HorizontalPodAutoscaler', deployment.metadata.name),
    };
  };
  const postgresValues = (chart) => [join(chartsDir, chart, 'ci', 'postgres-values.yaml')];
  /** Renders `chart` from a copy without its values.schema.json, to reach the checks of the templates behind the schema's. */
  const templateWithoutSchema = async (chart, set) => {
    const copy = mkdtempSync(join(tmpdir(), `${chart}-without-schema-`));
    try {
      cpSync(join(chartsDir, chart), copy, { recursive: true, dereference: true });
      rmSync(join(copy, 'values.schema.json'));
      return await helmTemplate(copy, { release: RELEASE, namespace: NAMESPACE, set });
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  };

  test('learning-events postgres: DATABASE_URL from the Secret, the pool and timeouts set, no claim, no data volume', async () => {
    const logger = await postgresOf('learning-events', { valuesFiles: postgresValues('learning-events') });
    expect(logger.database).toEqual({
      DATABASE_URL: { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'learning-events-postgres', key: 'database-url' } } },
      DATABASE_POOL_SIZE: { name: 'DATABASE_POOL_SIZE', value: '20' },
      // 0 is a setting (no limit), not "unset".
      DATABASE_STATEMENT_TIMEOUT_MS: { name: 'DATABASE_STATEMENT_TIMEOUT_MS', value: '0' },
      DATABASE_CONNECT_TIMEOUT_MS: { name: 'DATABASE_CONNECT_TIMEOUT_MS', value: '5000' },
    });
    expect(logger.claims).toEqual([]);
    expect(logger.volumes).not.toContain('data');
    expect(logger.mounts).not.toContain('/data');
    expect(logger.mounts).toContain('/tmp');
    // One replica unless asked for more, but rolled out beside the old one, never without one.
    expect(logger.deployment.spec.replicas).toBe(1);
    expect(logger.deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(logger.budget.spec).toEqual({ maxUnavailable: 1, selector: logger.deployment.spec.selector });
  });

  test('concept-mastery postgres: DATABASE_URL from database.url, only the settings given', async () => {
    const brain = await postgresOf('concept-mastery', { valuesFiles: postgresValues('concept-mastery') });
    expect(brain.database).toEqual({
      DATABASE_URL: {
        name: 'DATABASE_URL',
        value: 'postgresql://concept_mastery@postgres.databases.svc:5432/concept_mastery?sslmode=require',
      },
      DATABASE_STATEMENT_TIMEOUT_MS: { name: 'DATABASE_STATEMENT_TIMEOUT_MS', value: '60000' },
    });
    expect(brain.claims).toEqual([]);
    expect(brain.volumes).not.toContain('data');
    expect(brain.deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  test.each([
    ['learning-events', 'database.existingSecret=pg'],
    ['learning-events', 'database.url=postgres://logger@postgres:5432/learning_events'],
    ['concept-mastery', 'database.existingSecret=pg'],
    ['concept-mastery', 'database.url=postgres://brain@postgres:5432/concept_mastery'],
  ])(
    '%s with %s and replicaCount=2: two Pods, a RollingUpdate, no claim, a PodDisruptionBudget of maxUnavailable 1, no autoscaler',
    async (chart, database) => {
      const service = await postgresOf(chart, { set: [database, 'replicaCount=2'] });
      const { spec, metadata } = service.deployment;
      expect(spec.replicas).toBe(2);
      // A new Pod must be ready before an old one stops (maxUnavailable 0), one extra at a time.
      expect(spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
      expect(service.claims).toEqual([]);
      expect(service.volumes).not.toContain('data');
      expect(service.budget).toEqual(
        expect.objectContaining({
          apiVersion: 'policy/v1',
          metadata: expect.objectContaining({ name: metadata.name, labels: metadata.labels }),
          spec: { maxUnavailable: 1, selector: { matchLabels: spec.selector.matchLabels } },
        }),
      );
      expect(service.autoscaler).toBeUndefined();
      expect(await validateKubernetesObjects(service.objects.filter((object) => !isHook(object)))).toEqual({});
    },
  );

  test.each(['learning-events', 'concept-mastery'])(
    '%s with autoscaling.enabled: an autoscaling/v2 HorizontalPodAutoscaler on CPU, and no replicas on the Deployment',
    async (chart) => {
      const service = await postgresOf(chart, {
        set: [
          'database.existingSecret=pg',
          'autoscaling.enabled=true',
          'autoscaling.maxReplicas=8',
          'autoscaling.targetCPUUtilizationPercentage=65',
        ],
      });
      expect(service.deployment.spec).not.toHaveProperty('replicas');
      expect(service.deployment.spec.strategy.type).toBe('RollingUpdate');
      expect(service.autoscaler.apiVersion).toBe('autoscaling/v2');
      expect(service.autoscaler.spec).toEqual({
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: service.deployment.metadata.name },
        minReplicas: 2,
        maxReplicas: 8,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 65 } } }],
      });
      // Utilization is a share of the CPU request, which the default values set.
      expect(service.deployment.spec.template.spec.containers[0].resources.requests.cpu).toBe('100m');
      expect(service.budget.spec.maxUnavailable).toBe(1);
      expect(await validateKubernetesObjects(service.objects.filter((object) => !isHook(object)))).toEqual({});
    },
  );

  test.each(['learning-events', 'concept-mastery'])(
    '%s: the budget and the rollout are configurable, and the budget can be left out',
    async (chart) => {
      const tuned = await postgresOf(chart, {
        set: [
          'database.existingSecret=pg',
          'replicaCount=4',
          'rollingUpdate.maxSurge=50%',
          'rollingUpdate.maxUnavailable=1',
          'podDisruptionBudget.minAvailable=75%',
        ],
      });
      expect(tuned.deployment.spec.strategy.rollingUpdate).toEqual({ maxSurge: '50%', maxUnavailable: 1 });
      expect(tuned.budget.spec).toEqual({ minAvailable: '75%', selector: tuned.deployment.spec.selector });
      const without = await postgresOf(chart, {
        set: ['database.existingSecret=pg', 'replicaCount=2', 'podDisruptionBudget.enabled=false'],
      });
      expect(without.budget).toBeUndefined();
    },
  );

  test.each(['learning-events', 'concept-mastery'])('%s on SQLite renders neither a budget nor an autoscaler', async (chart) => {
    const { objects } = await helmTemplate(join(chartsDir, chart), { release: RELEASE, namespace: NAMESPACE });
    expect(objectsOfKind(objects, 'PodDisruptionBudget')).toEqual([]);
    expect(objectsOfKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
  });

  test.each(['learning-events', 'concept-mastery'])(
    '%s refuses a budget that would block every drain, an autoscaler without room or without a CPU request, and a rollout that cannot move',
    async (chart) => {
      const refusals = [
        [
          ['replicaCount=1', 'podDisruptionBudget.minAvailable=1'],
          /podDisruptionBudget\.minAvailable is 1, which leaves no Pod to evict at replicaCount \(1\), the fewest Pods the Deployment runs: every drain of their nodes would wait forever/,
        ],
        // 60% of 2 Pods is 2, rounded up as Kubernetes does.
        [
          ['replicaCount=2', 'podDisruptionBudget.minAvailable=60%'],
          /podDisruptionBudget\.minAvailable is 60%, which leaves no Pod to evict at replicaCount \(2\)/,
        ],
        [
          ['autoscaling.enabled=true', 'podDisruptionBudget.minAvailable=2'],
          /podDisruptionBudget\.minAvailable is 2, which leaves no Pod to evict at autoscaling\.minReplicas \(2\)/,
        ],
        [
          ['autoscaling.enabled=true', 'autoscaling.minReplicas=5'],
          /autoscaling\.minReplicas \(5\) is above autoscaling\.maxReplicas \(4\)/,
        ],
        [
          ['autoscaling.enabled=true', 'resources.requests.cpu=null'],
          /autoscaling\.enabled scales on CPU utilization, a share of the container's CPU request, but resources\.requests\.cpu is not set/,
        ],
        [
          ['rollingUpdate.maxSurge=0', 'rollingUpdate.maxUnavailable=0%'],
          /rollingUpdate\.maxSurge and rollingUpdate\.maxUnavailable are both 0: a rollout could neither start a new Pod nor stop an old one/,
        ],
      ];
      for (const [set, message] of refusals) {
        await expect(postgresOf(chart, { set: ['database.existingSecret=pg', ...set] })).rejects.toThrow(message);
      }
      // The same budget is fine once there are Pods to spare.
      await expect(
        postgresOf(chart, { set: ['database.existingSecret=pg', 'replicaCount=2', 'podDisruptionBudget.minAvailable=1'] }),
      ).resolves.toEqual(
        expect.objectContaining({ budget: expect.objectContaining({ spec: expect.objectContaining({ minAvailable: 1 }) }) }),
      );
    },
  );

  test.each(['learning-events', 'concept-mastery'])(
    '%s: existingSecret alone reads key "url", leaves the pool and timeouts to the service, and ignores persistence',
    async (chart) => {
      const service = await postgresOf(chart, { set: ['database.existingSecret=pg', 'persistence.existingClaim=old-sqlite-data'] });
      expect(service.database).toEqual({
        DATABASE_URL: { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'pg', key: 'url' } } },
      });
      expect(service.volumes).not.toContain('data');
      expect(service.claims).toEqual([]);
    },
  );

  test.each(['learning-events', 'concept-mastery'])(
    '%s on SQLite (the default) sets DATABASE_URL only, to the file on /data',
    async (chart) => {
      const service = await postgresOf(chart);
      expect(service.database).toEqual({ DATABASE_URL: { name: 'DATABASE_URL', value: `sqlite:/data/${chart}.db` } });
    },
  );

  test('the umbrella passes each service its database: one Secret, a key per service, no claim', async () => {
    const values = postgresValues('learning-analytics');
    for (const service of ['learning-events', 'concept-mastery']) {
      const { database, claims, volumes } = await postgresOf('learning-analytics', { valuesFiles: values, service });
      expect(database).toEqual({
        DATABASE_URL: {
          name: 'DATABASE_URL',
          valueFrom: { secretKeyRef: { name: 'learning-analytics-postgres', key: `${service}-url` } },
        },
      });
      expect(claims).toEqual([]);
      expect(volumes).not.toContain('data');
    }
  });

  test.each(['learning-events', 'concept-mastery'])('%s refuses scheduled backups on PostgreSQL', async (chart) => {
    for (const database of ['database.existingSecret=pg', 'database.url=postgres://user:password@postgres:5432/db']) {
      await expect(postgresOf(chart, { set: [database, 'backup.enabled=true'] })).rejects.toThrow(
        /backup\.enabled takes scheduled backups of an SQLite database, and the service refuses BACKUP_DIR with PostgreSQL: back PostgreSQL up with its own tools \(pg_dump, or base backups with WAL archiving\), and set backup\.enabled=false/,
      );
    }
  });

  test.each(['learning-events', 'concept-mastery'])(
    '%s refuses the PostgreSQL settings on SQLite, where they would do nothing',
    async (chart) => {
      for (const [key, value] of [
        ['poolSize', 5],
        ['statementTimeoutMs', 0],
        ['connectTimeoutMs', 1000],
      ]) {
        await expect(postgresOf(chart, { set: [`database.${key}=${value}`] })).rejects.toThrow(
          new RegExp(
            `database\\.${key} is a PostgreSQL setting, but the database is SQLite: set database\\.existingSecret \\(or database\\.url\\) too, or leave database\\.${key} null`,
          ),
        );
      }
    },
  );

  test.each(['learning-events', 'concept-mastery'])(
    '%s: behind the schema, the templates refuse several replicas and autoscaling on SQLite, and two sources of the URL',
    async (chart) => {
      await expect(templateWithoutSchema(chart, ['replicaCount=3'])).rejects.toThrow(
        /replicaCount is 3: SQLite has a single writer, so the chart runs one replica on SQLite; several replicas need PostgreSQL \(database\.existingSecret or database\.url\)\. Set replicaCount=1/,
      );
      await expect(templateWithoutSchema(chart, ['autoscaling.enabled=true'])).rejects.toThrow(
        /autoscaling\.enabled scales the Deployment out, but SQLite has a single writer and the chart runs one replica on it: autoscaling needs PostgreSQL \(database\.existingSecret or database\.url\)\. Set autoscaling\.enabled=false/,
      );
      await expect(templateWithoutSchema(chart, ['database.url=postgres://postgres/db', 'database.existingSecret=pg'])).rejects.toThrow(
        /database\.url and database\.existingSecret both name the PostgreSQL database: set only one/,
      );
      // The copy itself renders, several replicas on PostgreSQL too: what stops the renders above
      // is the template checks.
      await expect(templateWithoutSchema(chart, ['database.existingSecret=pg', 'replicaCount=2'])).resolves.toEqual(
        expect.objectContaining({ stderr: '' }),
      );
    },
  );

  test.each([
    [
      'the same key of the same Secret',
      ['learning-events.database.existingSecret=pg', 'concept-mastery.database.existingSecret=pg'],
      /learning-events and concept-mastery both read DATABASE_URL from key url of the Secret pg: give each service a database of its own, under a key of its own/,
    ],
    [
      'the same database at two URLs',
      [
        'learning-events.database.url=postgres://logger:a@postgres:5432/learning',
        'concept-mastery.database.url=postgresql://brain:b@postgres:5432/learning?sslmode=require',
      ],
      /learning-events\.database\.url and concept-mastery\.database\.url name the same database, learning on postgres:5432: give each service a database of its own/,
    ],
    [
      'the same database, several replicas each',
      [
        'learning-events.database.url=postgres://logger:a@postgres:5432/learning',
        'learning-events.replicaCount=2',
        'concept-mastery.database.url=postgres://brain:b@postgres:5432/learning',
        'concept-mastery.autoscaling.enabled=true',
      ],
      /name the same database, learning on postgres:5432/,
    ],
    [
      // libpq's defaults: the port 5432, and without a path the database of the user's name.
      'the same database spelt two ways (host case, default port, database by user name)',
      [
        'learning-events.database.url=postgres://learning@Postgres',
        'concept-mastery.database.url=postgres://brain:b@postgres:5432/learning',
      ],
      /name the same database, learning on postgres:5432/,
    ],
  ])('the umbrella refuses both services on %s', async (_label, set, message) => {
    await expect(helmTemplate(umbrellaChart, { release: RELEASE, namespace: NAMESPACE, set })).rejects.toThrow(message);
  });

  test('the umbrella accepts two databases on one server, and one key for a Brain that is not installed', async () => {
    for (const [logger, brain] of [
      ['postgres://logger@postgres:5432/learning', 'postgres://brain@postgres:5433/learning'],
      ['postgres://logger@postgres-a/learning', 'postgres://brain@postgres-b/learning'],
    ]) {
      await expect(
        helmTemplate(umbrellaChart, { set: [`learning-events.database.url=${logger}`, `concept-mastery.database.url=${brain}`] }),
      ).resolves.toEqual(expect.objectContaining({ stderr: '' }));
    }
    await expect(
      helmTemplate(umbrellaChart, {
        set: [
          'learning-events.database.url=postgres://logger:a@postgres:5432/learning_events',
          'concept-mastery.database.url=postgres://brain:b@postgres:5432/concept_mastery',
        ],
      }),
    ).resolves.toEqual(expect.objectContaining({ stderr: '' }));
    await expect(
      helmTemplate(umbrellaChart, {
        set: ['learning-events.database.existingSecret=pg', 'concept-mastery.database.existingSecret=pg', 'concept-mastery.enabled=false'],
      }),
    ).resolves.toEqual(expect.objectContaining({ stderr: '' }));
  });

  test('the umbrella runs both services on one server, each on its own database, with replicas, budgets and an autoscaler (ci/postgres-one-server)', async () => {
    const values = [join(umbrellaChart, 'ci', 'postgres-one-server-values.yaml')];
    const logger = await postgresOf('learning-analytics', { valuesFiles: values, service: 'learning-events' });
    const brain = await postgresOf('learning-analytics', { valuesFiles: values, service: 'concept-mastery' });
    const [loggerUrl, brainUrl] = [logger, brain].map((service) => new URL(service.env.DATABASE_URL.value));
    expect(loggerUrl.host).toBe(brainUrl.host);
    expect(loggerUrl.pathname).not.toBe(brainUrl.pathname);
    expect(logger.deployment.spec.replicas).toBe(3);
    expect(logger.budget.spec.maxUnavailable).toBe(1);
    expect(logger.autoscaler).toBeUndefined();
    expect(brain.deployment.spec).not.toHaveProperty('replicas');
    expect(brain.autoscaler.spec).toEqual(expect.objectContaining({ minReplicas: 2, maxReplicas: 6 }));
    expect(brain.budget.spec).toEqual({ minAvailable: 1, selector: brain.deployment.spec.selector });
    expect(logger.claims).toEqual([]);
  });

  test.each(['learning-events', 'concept-mastery'])(
    '%s NOTES.txt names the Secret (never the URL), warns about database.url, and drops the emptyDir warning',
    async (chart) => {
      const dir = mkdtempSync(join(tmpdir(), 'postgres-notes-'));
      const notesWith = (name, values) => {
        writeFileSync(join(dir, name), values);
        return renderNotes(join(chartsDir, chart), { release: RELEASE, namespace: NAMESPACE, valuesFiles: [join(dir, name)] });
      };
      try {
        const fromSecret = await notesWith('secret.yaml', 'database: {existingSecret: pg}\npersistence: {enabled: false}\n');
        expect(fromSecret).toMatch(/The database is PostgreSQL: DATABASE_URL comes from key url of the Secret pg/);
        expect(fromSecret).toContain(`rollout restart deployment/${RELEASE}-${chart}`);
        expect(fromSecret).not.toMatch(/WARNING/);
        expect(fromSecret).toMatch(
          new RegExp(
            `It runs 1 replica\\(s\\), rolled out with a RollingUpdate; the PodDisruptionBudget\\n${RELEASE}-${chart} limits how many`,
          ),
        );
        const scaled = await notesWith('scaled.yaml', 'database: {existingSecret: pg}\nautoscaling: {enabled: true, maxReplicas: 7}\n');
        expect(scaled).toMatch(
          /It runs 2 to 7 replicas, as many as the HorizontalPodAutoscaler sets\n\(for an average CPU use of 80% of the request\)/,
        );
        const fromUrl = await notesWith('url.yaml', 'database: {url: "postgres://user:s3cret@postgres:5432/db"}\n');
        expect(fromUrl).toMatch(/WARNING: database\.url is written into the Deployment/);
        expect(fromUrl).not.toContain('s3cret');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('the data volume outlives the release unless asked otherwise', () => {
  const claimOf = async (chart, set = []) => {
    const { objects } = await helmTemplate(join(chartsDir, chart), { release: RELEASE, namespace: NAMESPACE, set });
    const [claim] = objectsOfKind(objects, 'PersistentVolumeClaim');
    return claim;
  };

  test.each(['learning-events', 'concept-mastery'])('%s: the claim is kept on uninstall by default', async (chart) => {
    expect((await claimOf(chart)).metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
  });

  test.each(['learning-events', 'concept-mastery'])(
    '%s: keepOnUninstall=false lets uninstall delete it; other annotations stay',
    async (chart) => {
      const claim = await claimOf(chart, ['persistence.keepOnUninstall=false', 'persistence.annotations.team=data']);
      expect(claim.metadata.annotations).toEqual({ team: 'data' });
    },
  );

  test('the umbrella chart keeps both claims', async () => {
    const { objects } = await helmTemplate(umbrellaChart, { release: RELEASE, namespace: NAMESPACE });
    const claims = objectsOfKind(objects, 'PersistentVolumeClaim');
    expect(claims).toHaveLength(2);
    for (const claim of claims) expect(claim.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
  });
});

describe('scheduled backups', () => {
  /** The backup claim, volume, mount and BACKUP_* variables of each Deployment of a render. */
  const backupsOf = async (chart, { set = [], valuesFiles = [] } = {}) => {
    const { objects } = await helmTemplate(join(chartsDir, chart), { release: RELEASE, namespace: NAMESPACE, set, valuesFiles });
    return someOfKind(objects, 'Deployment').map((deployment) => {
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      const volume = pod.volumes.find((candidate) => candidate.name === 'backups');
      const claimName = volume?.persistentVolumeClaim?.claimName;
      return {
        service: container.name,
        env: Object.fromEntries(
          Object.entries(envOf(container))
            .filter(([name]) => name.startsWith('BACKUP_'))
            .map(([name, variable]) => [name, variable.value]),
        ),
        mount: container.volumeMounts.find((mount) => mount.name === 'backups'),
        volume,
        claim: claimName && findObject(objects, 'PersistentVolumeClaim', claimName),
        claims: objectsOfKind(objects, 'PersistentVolumeClaim').map((claim) => claim.metadata.name),
      };
    });
  };
  const allFeaturesOf = (chart) => [join(chartsDir, chart, 'ci', 'all-features-values.yaml')];

  test.each(['learning-events', 'concept-mastery', 'learning-analytics'])(
    '%s defaults: off, so no backup claim, volume, mount or BACKUP_ variable',
    async (chart) => {
      for (const backups of await backupsOf(chart)) {
        expect(backups).toEqual(expect.objectContaining({ env: {}, mount: undefined, volume: undefined }));
        expect(backups.claims.filter((name) => name.endsWith('-backups'))).toEqual([]);
      }
    },
  );

  test.each(['learning-events', 'concept-mastery'])(
    '%s with backup.enabled: a second claim of its own, kept on uninstall, mounted at /backups, which BACKUP_DIR names',
    async (chart) => {
      const [backups] = await backupsOf(chart, { set: ['backup.enabled=true'] });
      expect(backups.claim.metadata.name).toBe(`${RELEASE}-${chart}-backups`);
      expect(backups.claim.metadata.labels).toEqual(expect.objectContaining({ 'app.kubernetes.io/name': chart }));
      expect(backups.claim.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
      expect(backups.claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } });
      // Not the database's claim: losing the data volume does not lose the backups.
      expect(backups.claims.sort()).toEqual([`${RELEASE}-${chart}`, `${RELEASE}-${chart}-backups`]);
      expect(backups.mount).toEqual({ name: 'backups', mountPath: '/backups' });
      // The interval and the number kept are the service's defaults (3600 s, 24) unless set.
      expect(backups.env).toEqual({ BACKUP_DIR: '/backups' });
    },
  );

  test('learning-events all-features: the claim takes its size, StorageClass, access modes and annotations; the schedule reaches the environment', async () => {
    const [backups] = await backupsOf('learning-events', { valuesFiles: allFeaturesOf('learning-events') });
    expect(backups.claim.metadata.annotations).toEqual({ 'example.com/backup-tier': 'cold', 'helm.sh/resource-policy': 'keep' });
    expect(backups.claim.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'backup-hdd',
      resources: { requests: { storage: '50Gi' } },
    });
    expect(backups.mount.mountPath).toBe(backups.env.BACKUP_DIR);
    expect(backups.env).toEqual({ BACKUP_DIR: '/backups', BACKUP_INTERVAL_SECONDS: '900', BACKUP_KEEP: '96' });
  });

  test('concept-mastery all-features: an existing claim is mounted and none is created', async () => {
    const [backups] = await backupsOf('concept-mastery', { valuesFiles: allFeaturesOf('concept-mastery') });
    expect(backups.volume).toEqual({ name: 'backups', persistentVolumeClaim: { claimName: 'concept-mastery-backups' } });
    expect(backups.claim).toBeUndefined();
    expect(backups.claims).toEqual([`${RELEASE}-concept-mastery`]);
    expect(backups.mount).toEqual({ name: 'backups', mountPath: '/backups' });
    expect(backups.env).toEqual({ BACKUP_DIR: '/backups', BACKUP_INTERVAL_SECONDS: '21600', BACKUP_KEEP: '8' });
  });

  test('learning-analytics all-features: each service its own backup claim; keepOnUninstall=false and "-" are honoured', async () => {
    const backups = Object.fromEntries(
      (await backupsOf('learning-analytics', { valuesFiles: allFeaturesOf('learning-analytics') })).map((entry) => [entry.service, entry]),
    );
    expect(backups['learning-events'].claim.metadata.annotations).toBeUndefined();
    expect(backups['learning-events'].claim.spec).toEqual({
      accessModes: ['ReadWriteMany'],
      storageClassName: '',
      resources: { requests: { storage: '5Gi' } },
    });
    expect(backups['learning-events'].env).toEqual({ BACKUP_DIR: '/backups' });
    expect(backups['concept-mastery'].claim.metadata.name).toBe(`${RELEASE}-concept-mastery-backups`);
    expect(backups['concept-mastery'].claim.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    expect(backups['concept-mastery'].env).toEqual({ BACKUP_DIR: '/backups', BACKUP_KEEP: '48' });
  });

  test.each(['learning-events', 'concept-mastery'])('%s refuses the database claim as the backup claim', async (chart) => {
    await expect(
      backupsOf(chart, { set: ['backup.enabled=true', 'persistence.existingClaim=data', 'backup.persistence.existingClaim=data'] }),
    ).rejects.toThrow(/backup\.persistence\.existingClaim is data, the claim of the database: give the backups a volume of their own/);
    await expect(
      backupsOf(chart, { set: ['backup.enabled=true', `backup.persistence.existingClaim=${RELEASE}-${chart}`] }),
    ).rejects.toThrow(/the claim of the database/);
  });
});

describe('authentication', () => {
  const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
  const workloadOf = async (chart, { set = [], valuesFiles = [], release = RELEASE } = {}) => {
    const { objects } = await helmTemplate(join(chartsDir, chart), { release, namespace: NAMESPACE, set, valuesFiles });
    const deployments = objectsOfKind(objects, 'Deployment');
    const workload = (name) => {
      const deployment = deployments.find((candidate) => candidate.metadata.labels['app.kubernetes.io/name'] === name);
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      return {
        deployment,
        pod,
        container,
        env: envOf(container),
        volumes: Object.fromEntries(pod.volumes.map((volume) => [volume.name, volume])),
      };
    };
    return { objects, workload };
  };
  /** The volume mounted where `path` is, and the path inside it. */
  const volumeHolding = ({ container, volumes }, path) => {
    const mount = container.volumeMounts.find((candidate) => path.startsWith(`${candidate.mountPath}/`));
    return { volume: volumes[mount.name], file: path.slice(mount.mountPath.length + 1), readOnly: mount.readOnly };
  };

  test.each(['learning-events', 'concept-mastery'])(
    '%s defaults: auth required, with the in-cluster issuer, the JWKS from the API server over the pod CA and token',
    async (chart) => {
      const { workload } = await workloadOf(chart);
      const service = workload(chart);
      const auth = Object.fromEntries(
        Object.entries(service.env)
          .filter(([name]) => name.startsWith('AUTH_'))
          .map(([name, variable]) => [name, variable.value]),
      );
      expect(auth).toEqual({
        AUTH_MODE: 'required',
        AUTH_JWT_ISSUER: 'https://kubernetes.default.svc.cluster.local',
        AUTH_JWT_JWKS_URL: 'https://kubernetes.default.svc/openid/v1/jwks',
        AUTH_JWT_CA_FILE: `${SERVICE_ACCOUNT_DIR}/ca.crt`,
        AUTH_JWT_JWKS_TOKEN_FILE: `${SERVICE_ACCOUNT_DIR}/token`,
      });
      // Kubernetes mounts no token (automountServiceAccountToken: false); the chart mounts the
      // token (for the API server's audience) and the cluster CA in this container itself.
      expect(service.pod.automountServiceAccountToken).toBe(false);
      const token = volumeHolding(service, auth.AUTH_JWT_JWKS_TOKEN_FILE);
      const ca = volumeHolding(service, auth.AUTH_JWT_CA_FILE);
      expect(token.volume).toBe(ca.volume);
      expect(token.readOnly).toBe(true);
      expect(token.volume.projected.sources).toEqual(
        expect.arrayContaining([
          { serviceAccountToken: { path: token.file, expirationSeconds: 3600 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: ca.file }] } },
        ]),
      );
    },
  );

  test.each(['learning-events', 'concept-mastery'])(
    '%s: a ClusterRoleBinding lets the Pod ServiceAccount read the JWKS; rbac.create=false, auth off or JWT off leave it out',
    async (chart) => {
      const { objects, workload } = await workloadOf(chart);
      const [binding] = objectsOfKind(objects, 'ClusterRoleBinding');
      expect(binding.metadata.name).toBe(`${RELEASE}-${chart}-${NAMESPACE}-issuer-discovery`);
      expect(binding.metadata.namespace).toBeUndefined();
      expect(binding.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'system:service-account-issuer-discovery',
      });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: workload(chart).pod.serviceAccountName, namespace: NAMESPACE }]);
      expect(findObject(objects, 'ServiceAccount', workload(chart).pod.serviceAccountName)).toBeDefined();
      for (const set of [
        ['auth.jwt.rbac.create=false'],
        ['auth.mode=off'],
        ['auth.jwt.enabled=false', 'auth.apiKeys.existingSecret=keys'],
      ]) {
        const { objects: without } = await workloadOf(chart, { set });
        expect({ set, bindings: objectsOfKind(without, 'ClusterRoleBinding') }).toEqual({ set, bindings: [] });
      }
    },
  );

  test.each(['learning-events', 'concept-mastery'])('%s auth-off: no AUTH_ setting but the mode, no credential mounted', async (chart) => {
    const { objects, workload } = await workloadOf(chart, { valuesFiles: [join(chartsDir, chart, 'ci', 'auth-off-values.yaml')] });
    const service = workload(chart);
    expect(Object.keys(service.env).filter((name) => /^(AUTH_|LEARNING_EVENTS_(TOKEN_FILE|API_KEY))/.test(name))).toEqual(['AUTH_MODE']);
    expect(service.env.AUTH_MODE.value).toBe('off');
    expect(Object.keys(service.volumes).sort()).toEqual(['data', 'tmp']);
    expect(objectsOfKind(objects, 'ClusterRoleBinding')).toEqual([]);
  });

  test.each(['learning-events', 'concept-mastery'])(
    '%s with serviceAccount.automountToken=true: Kubernetes mounts the token, the chart adds no volume of its own',
    async (chart) => {
      const service = (await workloadOf(chart, { set: ['serviceAccount.automountToken=true'] })).workload(chart);
      expect(service.pod.automountServiceAccountToken).toBe(true);
      expect(service.volumes['kube-api-access']).toBeUndefined();
      expect(service.env.AUTH_JWT_JWKS_TOKEN_FILE.value).toBe(`${SERVICE_ACCOUNT_DIR}/token`);
    },
  );

  test.each([
    ['learning-events', 'learning-dashboard', ['events:read'], 'event-collector', ['events:write']],
    ['concept-mastery', 'learning-dashboard', ['mastery:read'], 'grader', ['mastery:read', 'mastery:recompute']],
  ])(
    '%s all-features: the API keys Secret and the principals ConfigMap, with templated subjects',
    async (chart, local, localScopes, other, otherScopes) => {
      const { objects, workload } = await workloadOf(chart, { valuesFiles: [join(chartsDir, chart, 'ci', 'all-features-values.yaml')] });
      const service = workload(chart);
      const keys = volumeHolding(service, service.env.AUTH_API_KEYS_FILE.value);
      expect(keys.volume.secret.secretName).toBe(`${chart}-api-keys`);
      expect(keys.volume.secret.items).toEqual([{ key: chart === 'learning-events' ? 'keys.json' : 'api-keys.json', path: keys.file }]);
      expect(service.env.AUTH_JWT_AUDIENCE.value).toBe(`${chart}.example.com`);

      const principals = volumeHolding(service, service.env.AUTH_PRINCIPALS_FILE.value);
      const configMap = findObject(objects, 'ConfigMap', principals.volume.configMap.name);
      const json = configMap.data[principals.file];
      expect(JSON.parse(json)).toEqual({
        [`system:serviceaccount:${NAMESPACE}:${local}`]: localScopes,
        [`system:serviceaccount:${chart === 'learning-events' ? 'ingest' : 'grading'}:${other}`]: otherScopes,
      });
      // A change of the principals rolls the Pod.
      expect(service.deployment.spec.template.metadata.annotations['checksum/principals']).toBe(
        createHash('sha256').update(json).digest('hex'),
      );
    },
  );

  test('the Brain shows the Logger a ServiceAccount token projected for the audience learning-events by default', async () => {
    const brain = (await workloadOf('concept-mastery')).workload('concept-mastery');
    const token = volumeHolding(brain, brain.env.LEARNING_EVENTS_TOKEN_FILE.value);
    expect(token.readOnly).toBe(true);
    expect(token.volume.projected.sources).toEqual([
      { serviceAccountToken: { audience: 'learning-events', expirationSeconds: 3600, path: token.file } },
    ]);
    expect(brain.env.LEARNING_EVENTS_API_KEY).toBeUndefined();
  });

  test('the Brain shows the Logger an API key from a Secret, or nothing', async () => {
    const apiKey = (
      await workloadOf('concept-mastery', { valuesFiles: [join(chartsDir, 'concept-mastery', 'ci', 'all-features-values.yaml')] })
    ).workload('concept-mastery');
    expect(apiKey.env.LEARNING_EVENTS_API_KEY.valueFrom).toEqual({ secretKeyRef: { name: 'concept-mastery-logger-key', key: 'key' } });
    expect(apiKey.env.LEARNING_EVENTS_TOKEN_FILE).toBeUndefined();
    expect(apiKey.volumes['learning-events-token']).toBeUndefined();
    const none = (await workloadOf('concept-mastery', { set: ['learningEvents.auth.mode=none'] })).workload('concept-mastery');
    expect(Object.keys(none.env).filter((name) => /^LEARNING_EVENTS_(TOKEN_FILE|API_KEY)$/.test(name))).toEqual([]);
  });

  test.each(['la', 'concept-mastery-prod'])(
    "umbrella release %s: the Logger's principals grant the Brain's ServiceAccount of this release events:read",
    async (release) => {
      const { objects, workload } = await workloadOf('learning-analytics', { release });
      const brain = workload('concept-mastery');
      const logger = workload('learning-events');
      const principals = volumeHolding(logger, logger.env.AUTH_PRINCIPALS_FILE.value);
      const json = JSON.parse(findObject(objects, 'ConfigMap', principals.volume.configMap.name).data[principals.file]);
      expect(json).toEqual({ [`system:serviceaccount:${NAMESPACE}:${brain.pod.serviceAccountName}`]: ['events:read'] });
      expect(findObject(objects, 'ServiceAccount', brain.pod.serviceAccountName)).toBeDefined();
      // The Logger accepts the audience the Brain's token is issued for.
      const token = volumeHolding(brain, brain.env.LEARNING_EVENTS_TOKEN_FILE.value);
      expect(token.volume.projected.sources[0].serviceAccountToken.audience).toBe(logger.env.AUTH_JWT_AUDIENCE?.value ?? 'learning-events');
    },
  );

  test.each([
    [
      'a renamed Brain ServiceAccount without a grant',
      ['concept-mastery.serviceAccount.name=brain'],
      /the Brain runs as ServiceAccount brain, which learning-events\.auth\.principals does not grant events:read/,
    ],
    [
      'a Logger audience the Brain token is not issued for',
      ['learning-events.auth.jwt.audience=logger'],
      /the Brain's token is issued for audience learning-events, but the Logger accepts logger/,
    ],
    [
      'a Logger that takes no JWT while the Brain shows one',
      ['learning-events.auth.jwt.enabled=false', 'learning-events.auth.apiKeys.existingSecret=keys'],
      /the Brain shows the Logger a ServiceAccount token, but learning-events\.auth\.jwt is off/,
    ],
  ])('the umbrella refuses %s', async (_label, set, message) => {
    await expect(helmTemplate(umbrellaChart, { release: RELEASE, namespace: NAMESPACE, set })).rejects.toThrow(message);
  });

  test('the umbrella lets the Brain use an API key instead (brain-api-key), and leaves the Logger alone when the Brain is off', async () => {
    const { workload } = await workloadOf('learning-analytics', {
      valuesFiles: [join(umbrellaChart, 'ci', 'brain-api-key-values.yaml')],
    });
    expect(workload('concept-mastery').env.LEARNING_EVENTS_API_KEY.valueFrom.secretKeyRef.name).toBe('concept-mastery-logger-key');
    expect(workload('learning-events').env.AUTH_API_KEYS_FILE).toBeDefined();
    await expect(workloadOf('learning-analytics', { set: ['concept-mastery.enabled=false'] })).resolves.toBeDefined();
  });
});

describe('network policies', () => {
  /** Whether a policy's ingress admits a Pod with `labels` in namespace `namespace` (labels `namespaceLabels`). */
  const admits = (policy, labels, { sameNamespace = true, namespaceLabels = {} } = {}) =>
    policy.spec.ingress.some((rule) =>
      rule.from.some((peer) => {
        if (peer.ipBlock) return false;
        const matches = (selector, subject) => Object.entries(selector?.matchLabels ?? {}).every(([key, value]) => subject[key] === value);
        const namespaceOk = peer.namespaceSelector ? matches(peer.namespaceSelector, namespaceLabels) : sameNamespace;
        return namespaceOk && matches(peer.podSelector, labels);
      }),
    );

  test('are on by default in the umbrella chart: the Logger admits the Brain of this release, the test Pod and Prometheus only', async () => {
    const { objects } = await helmTemplate(umbrellaChart, { release: RELEASE, namespace: NAMESPACE });
    const logger = findObject(objects, 'NetworkPolicy', `${RELEASE}-learning-events`);
    const brain = findObject(objects, 'Deployment', `${RELEASE}-concept-mastery`).spec.template.metadata.labels;
    expect(logger.spec.policyTypes).toEqual(['Ingress']);
    expect(admits(logger, brain)).toBe(true);
    expect(admits(logger, { ...brain, 'app.kubernetes.io/instance': 'other-release' })).toBe(false);
    expect(admits(logger, brain, { sameNamespace: false })).toBe(false);
    expect(admits(logger, findObject(objects, 'Pod', `${RELEASE}-learning-events-test-ready`).metadata.labels)).toBe(true);
    const prometheus = { 'app.kubernetes.io/name': 'prometheus' };
    expect(admits(logger, prometheus, { sameNamespace: false, namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' } })).toBe(
      true,
    );
    expect(admits(logger, { 'app.kubernetes.io/name': 'grafana' })).toBe(false);
    expect(logger.spec.ingress.map((rule) => rule.ports)).toEqual([[{ port: 'http', protocol: 'TCP' }]]);

    const brainPolicy = findObject(objects, 'NetworkPolicy', `${RELEASE}-concept-mastery`);
    expect(admits(brainPolicy, findObject(objects, 'Pod', `${RELEASE}-concept-mastery-test-ready`).metadata.labels)).toBe(true);
    expect(admits(brainPolicy, prometheus, { sameNamespace: false })).toBe(true);
    expect(admits(brainPolicy, findObject(objects, 'Deployment', `${RELEASE}-learning-events`).spec.template.metadata.labels)).toBe(false);
  });

  test('a service chart on its own renders none by default, and admits a Brain of any release when on', async () => {
    const { objects } = await helmTemplate(join(chartsDir, 'learning-events'), { release: RELEASE, namespace: NAMESPACE });
    expect(objectsOfKind(objects, 'NetworkPolicy')).toEqual([]);
    const { objects: on } = await helmTemplate(join(chartsDir, 'learning-events'), {
      release: RELEASE,
      set: ['networkPolicy.enabled=true'],
    });
    const [policy] = objectsOfKind(on, 'NetworkPolicy');
    expect(admits(policy, { 'app.kubernetes.io/name': 'concept-mastery', 'app.kubernetes.io/instance': 'concept-mastery' })).toBe(true);
  });

  test('egress, when on: DNS, the API server by address, the Logger from the Brain, and the extra rules', async () => {
    const { objects } = await render(scenariosOf('learning-analytics').find((scenario) => scenario.name === 'all-features'));
    for (const name of ['learning-events', 'concept-mastery']) {
      const { egress } = findObject(objects, 'NetworkPolicy', `${RELEASE}-${name}`).spec;
      expect(egress).toContainEqual({
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
      });
      expect(egress).toContainEqual({
        to: [{ ipBlock: { cidr: '172.18.0.2/32' } }],
        ports: [
          { port: 443, protocol: 'TCP' },
          { port: 6443, protocol: 'TCP' },
        ],
      });
    }
    const brainEgress = findObject(objects, 'NetworkPolicy', `${RELEASE}-concept-mastery`).spec.egress;
    expect(brainEgress).toContainEqual({
      to: [{ podSelector: { matchLabels: findObject(objects, 'Deployment', `${RELEASE}-learning-events`).spec.selector.matchLabels } }],
      ports: [{ port: 'http', protocol: 'TCP' }],
    });
    expect(findObject(objects, 'NetworkPolicy', `${RELEASE}-learning-events`).spec.egress).toHaveLength(2);

    const { objects: logger } = await render(scenariosOf('learning-events').find((scenario) => scenario.name === 'all-features'));
    expect(objectsOfKind(logger, 'NetworkPolicy')[0].spec.egress.at(-1)).toEqual({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } }],
      ports: [{ port: 4318, protocol: 'TCP' }],
    });
  });
});
