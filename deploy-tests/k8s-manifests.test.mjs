// k8s/: the committed manifests of k8s/base/ are what the generator produces from the chart today,
// kustomize renders them (through k8s/), and what it renders is the chart's default deployment in
// the namespace they are generated for, valid against the Kubernetes API schemas; generated for
// another namespace, every name that depends on it follows. The overlay k8s/overlays/postgres
// renders what the chart renders with both services on PostgreSQL: no claim, no data volume,
// DATABASE_URL from the Secret, two replicas each with a RollingUpdate and a PodDisruptionBudget.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { DEFAULT_NAMESPACE, generateManifests } from '../scripts/generate-k8s-manifests.mjs';
import { helmTemplate, isHook, objectsOfKind, parseManifests } from './support/helm.mjs';
import { validateKubernetesObjects } from './support/kubernetes-schema.mjs';
import { repoRoot, umbrellaChart } from './support/repository.mjs';

const k8sDir = join(repoRoot, 'k8s');
const baseDir = join(k8sDir, 'base');
const postgresOverlay = join(k8sDir, 'overlays', 'postgres');

async function kubectlKustomize(dir) {
  try {
    return (await promisify(execFile)('kubectl', ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    if (error.code === 'ENOENT') {
      throw new Error(
        'kubectl is not installed: this check needs `kubectl kustomize` (scripts/install-test-tools.sh installs kubectl, which bundles kustomize)',
      );
    }
    throw new Error(`kubectl kustomize ${dir} failed:\n${error.stderr}`);
  }
}

const byKindAndName = (a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`);
const clusterScoped = new Set(['ClusterRoleBinding', 'ClusterRole']);

test('the committed k8s/base/ manifests are what `npm run k8s:generate` produces from the chart', async () => {
  const generated = await generateManifests();
  const committed = readdirSync(baseDir)
    .filter((file) => file.endsWith('.yaml'))
    .sort();
  expect(committed).toEqual([...generated.keys()].sort());
  for (const [file, content] of generated) {
    const drift = readFileSync(join(baseDir, file), 'utf8') === content ? 'none' : 'differs: run `npm run k8s:generate`';
    expect({ file, drift }).toEqual({ file, drift: 'none' });
  }
});

/** What kubectl would apply for the chart's render with these values: no hooks, the pinned namespace. */
async function chartDeployment(valuesFiles = []) {
  const { objects } = await helmTemplate(umbrellaChart, { release: 'learning-analytics', namespace: DEFAULT_NAMESPACE, valuesFiles });
  // base/kustomization.yaml pins the namespace: kustomize writes it into every namespaced object.
  return objects
    .filter((object) => !isHook(object))
    .map((object) =>
      clusterScoped.has(object.kind) ? object : { ...object, metadata: { ...object.metadata, namespace: DEFAULT_NAMESPACE } },
    )
    .sort(byKindAndName);
}

test("kubectl kustomize k8s/ renders the chart's default deployment, in its namespace, without its test hooks", async () => {
  const kustomized = parseManifests(await kubectlKustomize(k8sDir)).sort(byKindAndName);
  expect(kustomized).toEqual(await chartDeployment());
  expect(kustomized.map((object) => object.kind)).toEqual(
    expect.arrayContaining([
      'Deployment',
      'Service',
      'PersistentVolumeClaim',
      'ConfigMap',
      'ServiceAccount',
      'ClusterRoleBinding',
      'NetworkPolicy',
    ]),
  );
});

test('generated for another namespace, the manifests pin it, bind its ServiceAccounts and grant its Brain', async () => {
  const files = await generateManifests({ namespace: 'learning' });
  expect(parse(files.get('kustomization.yaml')).namespace).toBe('learning');
  const objects = [...files.entries()].filter(([name]) => name !== 'kustomization.yaml').flatMap(([, text]) => parseManifests(text));
  const bindings = objectsOfKind(objects, 'ClusterRoleBinding');
  expect(bindings).toHaveLength(2);
  for (const binding of bindings) {
    expect(binding.metadata.name).toMatch(/-learning-issuer-discovery$/);
    expect(binding.subjects.map((subject) => subject.namespace)).toEqual(['learning']);
  }
  const principals = objects.find((object) => object.metadata.name === 'learning-analytics-learning-events-principals');
  expect(JSON.parse(principals.data['principals.json'])).toEqual({
    'system:serviceaccount:learning:learning-analytics-concept-mastery': ['events:read'],
  });
});

test.each([
  ['k8s/', k8sDir],
  ['k8s/overlays/postgres', postgresOverlay],
])('every object kubectl would apply from %s is valid against the Kubernetes API schemas', async (_label, dir) => {
  const kustomized = parseManifests(await kubectlKustomize(dir));
  expect(kustomized.length).toBeGreaterThan(0);
  expect(await validateKubernetesObjects(kustomized)).toEqual({});
});

describe('the overlay k8s/overlays/postgres', () => {
  const rendered = () => kubectlKustomize(postgresOverlay).then((yaml) => parseManifests(yaml).sort(byKindAndName));

  test("renders what the chart renders with each service's database.existingSecret and replicaCount 2 set (its ci/postgres-values.yaml)", async () => {
    expect(await rendered()).toEqual(await chartDeployment([join(umbrellaChart, 'ci', 'postgres-values.yaml')]));
  });

  test('has no PersistentVolumeClaim, and each Deployment reads DATABASE_URL from its key of the Secret, with no data volume', async () => {
    const objects = await rendered();
    expect(objectsOfKind(objects, 'PersistentVolumeClaim')).toEqual([]);
    const deployments = objectsOfKind(objects, 'Deployment');
    expect(deployments.map((deployment) => deployment.metadata.name).sort()).toEqual([
      'learning-analytics-concept-mastery',
      'learning-analytics-learning-events',
    ]);
    for (const deployment of deployments) {
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      expect(container.env.filter((variable) => variable.name === 'DATABASE_URL')).toEqual([
        { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'learning-analytics-postgres', key: `${container.name}-url` } } },
      ]);
      // The root filesystem stays read-only: the only writable mount left is /tmp, an emptyDir.
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(container.volumeMounts.filter((mount) => !mount.readOnly)).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
      expect(pod.volumes.map((volume) => volume.name)).not.toContain('data');
      expect(pod.volumes.find((volume) => volume.name === 'tmp').emptyDir).toBeDefined();
      // Two replicas, replaced one extra Pod at a time, never fewer than two ready.
      expect(deployment.spec.replicas).toBe(2);
      expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    }
  });

  test('has a PodDisruptionBudget per Deployment, in its namespace, that lets a drain evict one of its two Pods at a time', async () => {
    const objects = await rendered();
    const budgets = objectsOfKind(objects, 'PodDisruptionBudget');
    expect(budgets.map((budget) => budget.metadata.name).sort()).toEqual([
      'learning-analytics-concept-mastery',
      'learning-analytics-learning-events',
    ]);
    for (const budget of budgets) {
      const deployment = objects.find((object) => object.kind === 'Deployment' && object.metadata.name === budget.metadata.name);
      expect(budget.metadata.namespace).toBe(deployment.metadata.namespace);
      expect(budget.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: deployment.spec.selector.matchLabels } });
    }
    // The base, on SQLite, has none: one Pod has nothing to spare.
    expect(objectsOfKind(parseManifests(await kubectlKustomize(k8sDir)), 'PodDisruptionBudget')).toEqual([]);
  });
});
