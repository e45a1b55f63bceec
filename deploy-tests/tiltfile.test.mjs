// The Tiltfile: evaluated with recording stand-ins for Tilt's built-ins (support/
// tiltfile-dry-run.py), then every image, Dockerfile, target, path, chart, workload, object and
// port it names is checked against the repository and the chart it renders, and the developer's
// ServiceAccount it creates against the grants of the dev values. The optional Prometheus and
// Grafana manifests (tilt/observability.yaml) are checked too: schema-valid, a Prometheus
// configuration promtool accepts, scraping and mounting what the chart renders, admitted by its
// NetworkPolicies.
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { findObject, helmTemplate, objectsOfKind, parseManifests } from './support/helm.mjs';
import { validateKubernetesObjects } from './support/kubernetes-schema.mjs';
import { repoRoot } from './support/repository.mjs';

const run = promisify(execFile);
const dryRunScript = join(repoRoot, 'deploy-tests', 'support', 'tiltfile-dry-run.py');

async function evaluateTiltfile(flags = []) {
  try {
    const { stdout } = await run('python3', [dryRunScript, join(repoRoot, 'Tiltfile'), ...flags], { cwd: repoRoot });
    return JSON.parse(stdout);
  } catch (error) {
    if (error.code === 'ENOENT')
      throw new Error('python3 is not installed: the Tiltfile check evaluates it with python3 (scripts/install-test-tools.sh installs it)');
    throw new Error(`the Tiltfile does not evaluate:\n${error.stderr}`);
  }
}

async function promtool(args) {
  try {
    return await run('promtool', args);
  } catch (error) {
    if (error.code === 'ENOENT')
      throw new Error(
        'promtool is not installed (Debian package prometheus; scripts/install-test-tools.sh installs it): it checks the Prometheus configuration',
      );
    throw new Error(`promtool ${args.join(' ')} failed:\n${error.stdout}${error.stderr}`);
  }
}

const callsOf = (calls, kind) => calls.filter((call) => call.call === kind);
const helmCallOf = (calls) => callsOf(calls, 'k8s_yaml').find((call) => call.yaml.helm);
const isFile = (path) => existsSync(join(repoRoot, path)) && statSync(join(repoRoot, path)).isFile();
const isDirectory = (path) => existsSync(join(repoRoot, path)) && statSync(join(repoRoot, path)).isDirectory();

let calls;
let chartRender;
beforeAll(async () => {
  calls = await evaluateTiltfile();
  const { yaml } = helmCallOf(calls);
  chartRender = await helmTemplate(join(repoRoot, yaml.helm), {
    release: yaml.name,
    namespace: yaml.namespace,
    valuesFiles: yaml.values.map((file) => join(repoRoot, file)),
  });
});

test('builds one image per service, from the dev target of the Dockerfile, for an image the chart deploys', () => {
  const builds = callsOf(calls, 'docker_build');
  expect(builds.map((build) => build.build_args.SERVICE).sort()).toEqual(['concept-mastery', 'learning-events']);
  const deployedImages = objectsOfKind(chartRender.objects, 'Deployment').map((deployment) =>
    deployment.spec.template.spec.containers[0].image.replace(/:[^:/]+$/, ''),
  );
  for (const build of builds) {
    expect(build.context).toBe('.');
    expect(isFile(build.dockerfile)).toBe(true);
    const dockerfile = readFileSync(join(repoRoot, build.dockerfile), 'utf8');
    expect(dockerfile).toMatch(new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${build.target}\\s*$`, 'mi'));
    expect(dockerfile).toMatch(/^ARG SERVICE\b/m);
    expect(isFile(`services/${build.build_args.SERVICE}/package.json`)).toBe(true);
    expect(build.ref).toBe(`learning-analytics/${build.build_args.SERVICE}`);
    expect(deployedImages).toContain(build.ref);
  }
});

test('live update falls back to a rebuild on package changes and syncs sources to where the dev image keeps them', () => {
  // The dev stage keeps the workspace in /app and runs in /app/services/<service>.
  const dockerfile = readFileSync(join(repoRoot, 'docker', 'Dockerfile'), 'utf8');
  const devStage = dockerfile.split(/^(?=FROM\s)/m).find((stage) => /^FROM\s+\S+\s+AS\s+dev\s*$/im.test(stage.split('\n')[0]));
  expect(devStage).toMatch(/^WORKDIR \/app\/services\/\$\{SERVICE\}\s*$/m);
  for (const build of callsOf(calls, 'docker_build')) {
    const [first, ...syncs] = build.live_update;
    expect(first.step).toBe('fall_back_on');
    expect(first.files).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', `services/${build.build_args.SERVICE}/package.json`]),
    );
    for (const file of first.files) expect({ file, exists: isFile(file) }).toEqual({ file, exists: true });
    expect(syncs.map((step) => step.step)).toEqual(syncs.map(() => 'sync'));
    expect(syncs.map((step) => step.local_path)).toEqual(
      expect.arrayContaining(['services/common/src', `services/${build.build_args.SERVICE}/src`]),
    );
    for (const step of syncs) {
      expect({ path: step.local_path, exists: isDirectory(step.local_path) }).toEqual({ path: step.local_path, exists: true });
      expect(step.remote_path).toBe(`/app/${step.local_path}`);
    }
  }
});

test('deploys the umbrella chart with its dev values, rendered for the namespace it deploys to', () => {
  const { yaml } = helmCallOf(calls);
  expect(yaml.helm).toBe('charts/learning-analytics');
  // The dry run's k8s_namespace(), as Tilt's: the kube context's namespace.
  expect(yaml.namespace).toBe('default');
  expect(isFile(`${yaml.helm}/Chart.yaml`)).toBe(true);
  for (const file of yaml.values) expect(isFile(file)).toBe(true);
  expect(chartRender.stderr).toBe('');
  // helm() follows the symbolic links by which the charts include each other; Tilt's file watch
  // does not, so each linked chart must be watched, or an edit to it would not redeploy.
  const watched = callsOf(calls, 'watch_file').map((call) => call.path);
  for (const path of watched) expect(isFile(`${path}/Chart.yaml`)).toBe(true);
  const linked = readdirSync(join(repoRoot, 'charts')).flatMap((chart) => {
    const dependencies = join(repoRoot, 'charts', chart, 'charts');
    if (!existsSync(dependencies)) return [];
    return readdirSync(dependencies)
      .filter((name) => lstatSync(join(dependencies, name)).isSymbolicLink())
      .map((name) => relative(repoRoot, realpathSync(join(dependencies, name))));
  });
  expect(linked.length).toBeGreaterThan(0);
  expect([...new Set(watched)].sort()).toEqual([...new Set(linked)].sort());
});

test('names each rendered workload, forwards ports 8000 and 8001, and starts the Brain after the Logger', () => {
  const resources = Object.fromEntries(
    callsOf(calls, 'k8s_resource').map((resource) => [resource.new_name || resource.workload, resource]),
  );
  const rendered = chartRender.objects;
  expect(resources['learning-events'].port_forwards.map((forward) => forward.local_port)).toEqual([8000]);
  expect(resources['concept-mastery'].port_forwards.map((forward) => forward.local_port)).toEqual([8001]);
  expect(resources['concept-mastery'].resource_deps).toEqual(['learning-events']);
  for (const name of ['learning-events', 'concept-mastery']) {
    const resource = resources[name];
    const deployment = findObject(rendered, 'Deployment', resource.workload);
    expect(deployment).toBeDefined();
    const containerPorts = deployment.spec.template.spec.containers[0].ports.map((port) => port.containerPort);
    for (const forward of resource.port_forwards) expect(containerPorts).toContain(forward.container_port);
    for (const selector of resource.objects) {
      const [objectName, kind] = selector.split(':');
      const found = rendered.some((object) => object.metadata.name === objectName && object.kind.toLowerCase() === kind);
      expect({ selector, found }).toEqual({ selector, found: true });
    }
  }
});

test("creates the developer's ServiceAccount, which the dev values grant every scope on both services", () => {
  const blobs = callsOf(calls, 'k8s_yaml').filter((call) => call.yaml.blob);
  expect(blobs).toHaveLength(1);
  const [serviceAccount] = parseManifests(blobs[0].yaml.blob);
  expect(serviceAccount).toEqual(
    expect.objectContaining({ kind: 'ServiceAccount', metadata: expect.objectContaining({ name: 'developer' }) }),
  );
  const resource = callsOf(calls, 'k8s_resource').find((call) => call.new_name === 'developer');
  expect(resource.objects).toEqual(['developer:serviceaccount']);
  const { namespace } = helmCallOf(calls).yaml;
  for (const deployment of objectsOfKind(chartRender.objects, 'Deployment')) {
    const principals = findObject(chartRender.objects, 'ConfigMap', `${deployment.metadata.name}-principals`);
    expect(JSON.parse(principals.data['principals.json'])).toEqual(
      expect.objectContaining({ [`system:serviceaccount:${namespace}:developer`]: ['admin'] }),
    );
  }
});

describe('with --observability', () => {
  let observabilityCalls;
  let manifests;
  beforeAll(async () => {
    observabilityCalls = await evaluateTiltfile(['--observability']);
    manifests = parseManifests(readFileSync(join(repoRoot, 'tilt', 'observability.yaml'), 'utf8'));
  });

  test('deploys tilt/observability.yaml and names its workloads and objects', () => {
    expect(callsOf(calls, 'k8s_yaml').map((call) => call.yaml)).not.toContain('tilt/observability.yaml');
    const yamls = callsOf(observabilityCalls, 'k8s_yaml').map((call) => call.yaml);
    expect(yamls).toContain('tilt/observability.yaml');
    for (const resource of callsOf(observabilityCalls, 'k8s_resource').filter((call) => call.labels.includes('observability'))) {
      expect(findObject(manifests, 'Deployment', resource.workload)).toBeDefined();
      for (const selector of resource.objects) {
        const [objectName, kind] = selector.split(':');
        expect(manifests.some((object) => object.metadata.name === objectName && object.kind.toLowerCase() === kind)).toBe(true);
      }
    }
  });

  test('its objects are valid against the Kubernetes API schemas', async () => {
    expect(await validateKubernetesObjects(manifests)).toEqual({});
  });

  test('Prometheus gets a valid configuration that scrapes each rendered Service under the job name the dashboards expect', async () => {
    const config = findObject(manifests, 'ConfigMap', 'prometheus-config').data['prometheus.yml'];
    const dir = mkdtempSync(join(tmpdir(), 'prometheus-config-'));
    try {
      writeFileSync(join(dir, 'prometheus.yml'), config);
      const { stdout } = await promtool(['check', 'config', join(dir, 'prometheus.yml')]);
      expect(stdout).toMatch(/SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const jobs = Object.fromEntries(parse(config).scrape_configs.map((job) => [job.job_name, job.static_configs[0].targets[0]]));
    for (const service of objectsOfKind(chartRender.objects, 'Service')) {
      const name = service.metadata.labels['app.kubernetes.io/name'];
      expect(jobs[name]).toBe(`${service.metadata.name}:${service.spec.ports[0].port}`);
    }
  });

  test("the chart's NetworkPolicies admit this Prometheus to every service", () => {
    const prometheus = findObject(manifests, 'Deployment', 'prometheus').spec.template.metadata.labels;
    const policies = objectsOfKind(chartRender.objects, 'NetworkPolicy');
    expect(policies).toHaveLength(objectsOfKind(chartRender.objects, 'Deployment').length);
    for (const policy of policies) {
      const admitted = policy.spec.ingress.some((rule) =>
        rule.from.some(
          (peer) =>
            !peer.ipBlock &&
            (!peer.namespaceSelector || Object.keys(peer.namespaceSelector).length === 0) &&
            Object.entries(peer.podSelector?.matchLabels ?? {}).every(([key, value]) => prometheus[key] === value),
        ),
      );
      expect({ policy: policy.metadata.name, admitted }).toEqual({ policy: policy.metadata.name, admitted: true });
    }
  });

  test('Grafana mounts the dashboard ConfigMaps the chart renders', () => {
    const grafana = findObject(manifests, 'Deployment', 'grafana');
    const projected = grafana.spec.template.spec.volumes
      .find((volume) => volume.name === 'dashboards')
      .projected.sources.map((source) => source.configMap.name);
    const rendered = objectsOfKind(chartRender.objects, 'ConfigMap')
      .filter((configMap) => configMap.metadata.labels.grafana_dashboard === '1')
      .map((configMap) => configMap.metadata.name);
    expect(projected.sort()).toEqual(rendered.sort());
    const provisioning = findObject(manifests, 'ConfigMap', 'grafana-provisioning').data;
    const dashboardsPath = parse(provisioning['dashboards.yaml']).providers[0].options.path;
    expect(grafana.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'dashboards', mountPath: dashboardsPath });
    expect(parse(provisioning['datasources.yaml']).datasources[0]).toEqual(
      expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true }),
    );
  });
});
