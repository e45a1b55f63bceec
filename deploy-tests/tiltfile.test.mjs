// The Tiltfile: evaluated with recording stand-ins for Tilt's built-ins (support/
// tiltfile-dry-run.py), then every image, Dockerfile, target, path, chart, workload, object and
// port it names is checked against the repository and the chart it renders, and the developer's
// ServiceAccount it creates against the grants of the dev values. The optional Prometheus and
// Grafana manifests (tilt/observability.yaml) are checked too: schema-valid, a Prometheus
// configuration promtool accepts, scraping and mounting what the chart renders, admitted by its
// NetworkPolicies. With --postgres, the throwaway PostgreSQL of k8s/dev/postgres.yaml: the chart
// rendered with two replicas of each service on it, each on the database its URL names, and the
// server's init script run against a real PostgreSQL, where each service's migrations then run
// on its own database with its own role.
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { parse } from 'yaml';
import { findObject, helmTemplate, objectsOfKind, parseManifests } from './support/helm.mjs';
import { validateKubernetesObjects } from './support/kubernetes-schema.mjs';
import { startPostgresServer } from './support/postgres-server.mjs';
import { assertServiceBuilt, repoRoot, servicePath } from './support/repository.mjs';

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

describe('with --postgres', () => {
  const devPostgres = 'k8s/dev/postgres.yaml';
  let postgresCalls;
  let render;
  let manifests;
  const resourcesOf = (recorded) =>
    Object.fromEntries(callsOf(recorded, 'k8s_resource').map((resource) => [resource.new_name || resource.workload, resource]));
  const secretData = (name) => {
    const secret = findObject(manifests, 'Secret', name);
    return {
      ...secret.stringData,
      ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])),
    };
  };

  beforeAll(async () => {
    postgresCalls = await evaluateTiltfile(['--postgres']);
    const { yaml } = helmCallOf(postgresCalls);
    render = await helmTemplate(join(repoRoot, yaml.helm), {
      release: yaml.name,
      namespace: yaml.namespace,
      valuesFiles: yaml.values.map((file) => join(repoRoot, file)),
    });
    manifests = parseManifests(readFileSync(join(repoRoot, devPostgres), 'utf8'));
  });

  test('deploys the dev values plus values-dev-postgres.yaml, and k8s/dev/postgres.yaml only with the flag', () => {
    expect(helmCallOf(postgresCalls).yaml.values).toEqual([
      'charts/learning-analytics/values-dev.yaml',
      'charts/learning-analytics/values-dev-postgres.yaml',
    ]);
    expect(callsOf(postgresCalls, 'k8s_yaml').map((call) => call.yaml)).toContain(devPostgres);
    expect(callsOf(calls, 'k8s_yaml').map((call) => call.yaml)).not.toContain(devPostgres);
    expect(render.stderr).toBe('');
  });

  test('runs two replicas of each service with a RollingUpdate and a PodDisruptionBudget, each on its key of the dev Secret, with no claim', async () => {
    const deployments = objectsOfKind(render.objects, 'Deployment');
    expect(deployments).toHaveLength(2);
    const urls = secretData('learning-analytics-postgres');
    for (const deployment of deployments) {
      const [container] = deployment.spec.template.spec.containers;
      expect(deployment.spec.replicas).toBe(2);
      expect(deployment.spec.strategy.type).toBe('RollingUpdate');
      expect(findObject(render.objects, 'PodDisruptionBudget', deployment.metadata.name)).toBeDefined();
      const { secretKeyRef } = container.env.find((variable) => variable.name === 'DATABASE_URL').valueFrom;
      expect(secretKeyRef).toEqual({ name: 'learning-analytics-postgres', key: `${container.name}-url` });
      expect(urls[secretKeyRef.key]).toMatch(/^postgres:\/\//);
      // The image's CMD of the dev target, as without the flag.
      expect(container.command).toBeUndefined();
    }
    expect(objectsOfKind(render.objects, 'PersistentVolumeClaim')).toEqual([]);
    expect(await validateKubernetesObjects(render.objects.filter((object) => !object.metadata.annotations?.['helm.sh/hook']))).toEqual({});
  });

  test("each service's URL names a database of its own on the dev server's Service", () => {
    const urls = Object.values(secretData('learning-analytics-postgres')).map((url) => new URL(url));
    expect(urls).toHaveLength(2);
    const service = findObject(manifests, 'Service', 'postgres');
    for (const url of urls) {
      expect(url.hostname).toBe(service.metadata.name);
      expect(Number(url.port)).toBe(service.spec.ports[0].port);
    }
    expect(new Set(urls.map((url) => url.pathname)).size).toBe(2);
  });

  test('k8s/dev/postgres.yaml is one postgres:15 server with its claim, init script and Secrets, valid against the Kubernetes API schemas', async () => {
    expect(await validateKubernetesObjects(manifests)).toEqual({});
    const server = findObject(manifests, 'Deployment', 'postgres');
    const pod = server.spec.template.spec;
    const [container] = pod.containers;
    expect(container.image).toBe('postgres:15');
    expect(server.spec.strategy).toEqual({ type: 'Recreate' });
    const service = findObject(manifests, 'Service', 'postgres');
    expect(service.spec.selector).toEqual(server.spec.selector.matchLabels);
    expect(container.ports.map((port) => port.name)).toContain(service.spec.ports[0].targetPort);
    // Every secret the container reads exists, under its key.
    for (const variable of container.env.filter((candidate) => candidate.valueFrom)) {
      const { name, key } = variable.valueFrom.secretKeyRef;
      expect({ variable: variable.name, found: key in secretData(name) }).toEqual({ variable: variable.name, found: true });
    }
    const volumes = Object.fromEntries(pod.volumes.map((volume) => [volume.name, volume]));
    const mounts = Object.fromEntries(container.volumeMounts.map((mount) => [mount.mountPath, mount.name]));
    expect(volumes[mounts['/var/lib/postgresql/data']].persistentVolumeClaim.claimName).toBe('postgres');
    expect(findObject(manifests, 'PersistentVolumeClaim', 'postgres')).toBeDefined();
    const initdb = volumes[mounts['/docker-entrypoint-initdb.d']].configMap;
    expect(Object.keys(findObject(manifests, 'ConfigMap', initdb.name).data)).toEqual(['create-databases.sh']);
    // Executable, so the entrypoint runs it rather than sourcing it into its own shell.
    expect(initdb.defaultMode & 0o111).toBe(0o111);
  });

  test('names the server and every object, forwards psql, and starts both services after the server', () => {
    const resources = resourcesOf(postgresCalls);
    const all = [...render.objects, ...manifests];
    expect(findObject(manifests, 'Deployment', resources.postgres.workload)).toBeDefined();
    expect(resources.postgres.port_forwards.map((forward) => [forward.local_port, forward.container_port])).toEqual([[15432, 5432]]);
    expect(resources['learning-events'].resource_deps).toEqual(['postgres']);
    expect(resources['concept-mastery'].resource_deps).toEqual(['postgres', 'learning-events']);
    for (const name of ['postgres', 'learning-events', 'concept-mastery']) {
      for (const selector of resources[name].objects) {
        const [objectName, kind] = selector.split(':');
        const found = all.some((object) => object.metadata.name === objectName && object.kind.toLowerCase() === kind);
        expect({ selector, found }).toEqual({ selector, found: true });
      }
    }
    // Every object of the file belongs to a resource (Services go with their workload).
    const claimed = new Set(Object.values(resources).flatMap((resource) => resource.objects));
    for (const object of manifests.filter((candidate) => !['Deployment', 'Service'].includes(candidate.kind))) {
      expect(claimed).toContain(`${object.metadata.name}:${object.kind.toLowerCase()}`);
    }
  });

  describe('its init script, run against a throwaway PostgreSQL as the image runs it', () => {
    let server;
    let port;
    beforeAll(async () => {
      server = await startPostgresServer();
      const admin = new URL(server.url);
      port = admin.port;
      const dir = mkdtempSync(join(tmpdir(), 'postgres-initdb-'));
      try {
        const script = join(dir, 'create-databases.sh');
        writeFileSync(script, findObject(manifests, 'ConfigMap', 'postgres-initdb').data['create-databases.sh'], { mode: 0o755 });
        const passwords = secretData('postgres');
        // The image's entrypoint sets POSTGRES_USER and points psql at its init server; here the
        // harness's server, over TCP.
        await run(script, [], {
          env: {
            PATH: process.env.PATH,
            POSTGRES_USER: decodeURIComponent(admin.username),
            PGHOST: admin.hostname,
            PGPORT: admin.port,
            PGPASSWORD: decodeURIComponent(admin.password),
            LEARNING_EVENTS_PASSWORD: passwords['learning-events-password'],
            CONCEPT_MASTERY_PASSWORD: passwords['concept-mastery-password'],
          },
        }).catch((error) => {
          if (error.code === 'ENOENT' || /psql: not found|psql: command not found/.test(error.stderr ?? ''))
            throw new Error('psql is not installed (Debian package postgresql-client; scripts/install-test-tools.sh installs postgresql)');
          throw new Error(`the init script failed:\n${error.stdout}${error.stderr}`);
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
    afterAll(async () => {
      await server?.stop();
    });

    /** A URL of the dev Secret, pointed at the throwaway server instead of the Service. */
    const local = (url) => Object.assign(new URL(url), { hostname: '127.0.0.1', port }).toString();

    test.each(['learning-events', 'concept-mastery'])(
      "%s's migrations run on its database with its URL, and its role may not connect to the other's",
      async (service) => {
        assertServiceBuilt(service);
        const urls = secretData('learning-analytics-postgres');
        const own = local(urls[`${service}-url`]);
        await run(process.execPath, ['dist/src/migrate.js'], { cwd: servicePath(service), env: { ...process.env, DATABASE_URL: own } });
        const client = new pg.Client({ connectionString: own });
        await client.connect();
        try {
          const { rows } = await client.query(
            'SELECT current_user AS role, current_database() AS database, count(*)::int AS migrations FROM knex_migrations',
          );
          expect(rows).toEqual([{ role: service.replace('-', '_'), database: service.replace('-', '_'), migrations: expect.any(Number) }]);
          expect(rows[0].migrations).toBeGreaterThan(0);
        } finally {
          await client.end();
        }
        const other = local(urls[`${service === 'learning-events' ? 'concept-mastery' : 'learning-events'}-url`]);
        const intruder = new pg.Client({
          connectionString: Object.assign(new URL(other), { username: new URL(own).username, password: new URL(own).password }).toString(),
        });
        await expect(intruder.connect()).rejects.toThrow(/permission denied for database/);
      },
    );
  });
});
