// k8s/: the committed manifests are what the generator produces from the chart today, kustomize
// renders them, and what it renders is the chart's default deployment in the namespace they are
// generated for, valid against the Kubernetes API schemas; generated for another namespace,
// every name that depends on it follows.
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

test('the committed k8s/ manifests are what `npm run k8s:generate` produces from the chart', async () => {
  const generated = await generateManifests();
  const committed = readdirSync(k8sDir)
    .filter((file) => file.endsWith('.yaml'))
    .sort();
  expect(committed).toEqual([...generated.keys()].sort());
  for (const [file, content] of generated) {
    const drift = readFileSync(join(k8sDir, file), 'utf8') === content ? 'none' : 'differs: run `npm run k8s:generate`';
    expect({ file, drift }).toEqual({ file, drift: 'none' });
  }
});

test("kubectl kustomize k8s/ renders the chart's default deployment, in its namespace, without its test hooks", async () => {
  const kustomized = parseManifests(await kubectlKustomize(k8sDir)).sort(byKindAndName);
  const { objects } = await helmTemplate(umbrellaChart, { release: 'learning-analytics', namespace: DEFAULT_NAMESPACE });
  // kustomization.yaml pins the namespace: kustomize writes it into every namespaced object.
  const expected = objects
    .filter((object) => !isHook(object))
    .map((object) =>
      clusterScoped.has(object.kind) ? object : { ...object, metadata: { ...object.metadata, namespace: DEFAULT_NAMESPACE } },
    )
    .sort(byKindAndName);
  expect(kustomized).toEqual(expected);
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

test('every object kubectl would apply is valid against the Kubernetes API schemas', async () => {
  const kustomized = parseManifests(await kubectlKustomize(k8sDir));
  expect(kustomized.length).toBeGreaterThan(0);
  expect(await validateKubernetesObjects(kustomized)).toEqual({});
});
