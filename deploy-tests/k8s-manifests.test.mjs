// k8s/: the committed manifests are what the generator produces from the chart today, kustomize
// renders them, and what it renders is the chart's default deployment, valid against the
// Kubernetes API schemas.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateManifests } from '../scripts/generate-k8s-manifests.mjs';
import { helmTemplate, isHook, parseManifests } from './support/helm.mjs';
import { validateKubernetesObjects } from './support/kubernetes-schema.mjs';
import { repoRoot, umbrellaChart } from './support/repository.mjs';

const k8sDir = join(repoRoot, 'k8s');

async function kubectlKustomize(dir) {
  try {
    return (await promisify(execFile)('kubectl', ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    if (error.code === 'ENOENT') {
      throw new Error('kubectl is not installed: this check needs `kubectl kustomize` (install kubectl, which bundles kustomize)');
    }
    throw new Error(`kubectl kustomize ${dir} failed:\n${error.stderr}`);
  }
}

const byKindAndName = (a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`);

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

test("kubectl kustomize k8s/ renders the chart's default deployment, without its test hooks", async () => {
  const kustomized = parseManifests(await kubectlKustomize(k8sDir)).sort(byKindAndName);
  const { objects } = await helmTemplate(umbrellaChart, { release: 'learning-analytics', namespace: 'default' });
  const expected = objects.filter((object) => !isHook(object)).sort(byKindAndName);
  expect(kustomized).toEqual(expected);
  expect(kustomized.map((object) => object.kind)).toEqual(
    expect.arrayContaining(['Deployment', 'Service', 'PersistentVolumeClaim', 'ConfigMap', 'ServiceAccount']),
  );
});

test('every object kubectl would apply is valid against the Kubernetes API schemas', async () => {
  const kustomized = parseManifests(await kubectlKustomize(k8sDir));
  expect(kustomized.length).toBeGreaterThan(0);
  expect(await validateKubernetesObjects(kustomized)).toEqual({});
});
