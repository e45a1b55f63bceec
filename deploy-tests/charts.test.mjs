// The Helm charts: helm lint and helm template for the defaults and every ci/*-values.yaml
// scenario; every rendered object valid against the Kubernetes API schemas; the invariants of a
// single-writer SQLite workload; the optional features; the umbrella's wiring.
import { readFileSync } from 'node:fs';
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

  test('each service is a single-writer SQLite workload with probes, limits and a locked-down container', async () => {
    const { objects } = await render(scenario);
    const deployments = objectsOfKind(objects, 'Deployment');
    expect(deployments.length).toBeGreaterThan(0);
    for (const deployment of deployments) {
      const { spec } = deployment;
      const pod = spec.template.spec;
      const [container] = pod.containers;
      const env = envOf(container);

      expect(spec.replicas).toBe(1);
      expect(spec.strategy).toEqual({ type: 'Recreate' });
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

      // The database on /data, the only writable paths /data and /tmp.
      expect(env.DATABASE_URL.value).toBe(`sqlite:/data/${container.name}.db`);
      const mounts = Object.fromEntries(container.volumeMounts.map((mount) => [mount.mountPath, mount.name]));
      expect(mounts).toEqual({ '/data': 'data', '/tmp': 'tmp' });
      const volumes = Object.fromEntries(pod.volumes.map((volume) => [volume.name, volume]));
      expect(volumes.tmp.emptyDir).toBeDefined();
      expect(volumes.data.persistentVolumeClaim ?? volumes.data.emptyDir).toBeDefined();

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
    for (const deployment of objectsOfKind(objects, 'Deployment')) {
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
    for (const service of objectsOfKind(objects, 'Service')) {
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
      for (const deployment of objectsOfKind(objects, 'Deployment')) {
        const name = deployment.metadata.name;
        const monitor = findObject(objects, 'ServiceMonitor', name);
        expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
        expect(monitor.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
        expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
        expect(monitor.spec.jobLabel).toBe('app.kubernetes.io/name');

        const policy = findObject(objects, 'NetworkPolicy', name);
        expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
        expect(policy.spec.policyTypes).toEqual(['Ingress']);

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
      for (const deployment of objectsOfKind(objects, 'Deployment')) {
        expect(deployment.spec.template.spec.volumes.find((volume) => volume.name === 'data')).toEqual({ name: 'data', emptyDir: {} });
      }
    },
  );

  test.each(['learning-events', 'concept-mastery', 'learning-analytics'])(
    '%s: an existing claim is mounted and no claim is created',
    async (chart) => {
      const { objects } = await render(scenariosOf(chart).find((scenario) => scenario.name === 'existing-claim'));
      expect(objectsOfKind(objects, 'PersistentVolumeClaim')).toEqual([]);
      for (const deployment of objectsOfKind(objects, 'Deployment')) {
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

  test('defaults carry the Prometheus scrape annotations and no optional object', async () => {
    const { objects } = await render(scenariosOf('learning-analytics')[0]);
    expect(objects.map((object) => object.kind).sort()).toEqual([
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'Deployment',
      'PersistentVolumeClaim',
      'PersistentVolumeClaim',
      'Pod',
      'Pod',
      'Service',
      'Service',
      'ServiceAccount',
      'ServiceAccount',
    ]);
    for (const deployment of objectsOfKind(objects, 'Deployment')) {
      const [container] = deployment.spec.template.spec.containers;
      expect(deployment.spec.template.metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(container.ports[0].containerPort),
        'prometheus.io/path': '/metrics',
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
    for (const deployment of objectsOfKind(objects, 'Deployment')) {
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
