// What keeps the charts one coherent set: the two service charts share their templates (only
// the service-specific ones differ), every schema key is documented in values.yaml, the
// umbrella renders the service charts of the same checkout, and the dashboards exist once.
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { helm, helmTemplate } from './support/helm.mjs';
import { chartsDir, repoRoot, serviceCharts, servicePath, umbrellaChart } from './support/repository.mjs';

// Templates whose content is specific to one service; every other template is the same in
// both charts once the chart name is replaced.
const serviceSpecificTemplates = ['templates/_env.tpl', 'templates/NOTES.txt', 'templates/networkpolicy.yaml'];

const filesUnder = (dir, base = dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), base) : [relative(base, join(dir, entry.name))],
  );

test('both service charts have the same templates, differing only in the chart name and the service-specific ones', () => {
  const [logger, brain] = serviceCharts;
  const loggerTemplates = filesUnder(join(chartsDir, logger, 'templates')).sort();
  expect(filesUnder(join(chartsDir, brain, 'templates')).sort()).toEqual(loggerTemplates);
  for (const file of loggerTemplates.map((name) => `templates/${name}`)) {
    if (serviceSpecificTemplates.includes(file)) continue;
    const normalised = (chart) => readFileSync(join(chartsDir, chart, file), 'utf8').replaceAll(chart, '<chart>');
    expect({ file, content: normalised(brain) }).toEqual({ file, content: normalised(logger) });
  }
});

/** Dotted paths of every key in a values object (maps of arbitrary keys stop at the map). */
function valuePaths(value, prefix = '') {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  const entries = Object.entries(value);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([key, child]) => valuePaths(child, prefix ? `${prefix}.${key}` : key));
}

/** Dotted paths of every property the schema declares under objects it closes. */
function schemaPaths(schema, definitions, prefix = '') {
  const resolved = schema.$ref ? definitions[schema.$ref.replace('#/definitions/', '')] : schema;
  if (resolved.additionalProperties !== false || !resolved.properties) return [prefix];
  return Object.entries(resolved.properties).flatMap(([key, child]) => schemaPaths(child, definitions, prefix ? `${prefix}.${key}` : key));
}

test.each(serviceCharts)('%s: every key the schema accepts is set and documented in values.yaml', (chart) => {
  const schema = JSON.parse(readFileSync(join(chartsDir, chart, 'values.schema.json'), 'utf8'));
  const valuesText = readFileSync(join(chartsDir, chart, 'values.yaml'), 'utf8');
  const values = parse(valuesText);
  // Keys set by Helm (global) or by the umbrella chart (enabled) are not this chart's settings.
  const declared = schemaPaths(schema, schema.definitions).filter((path) => !['global', 'enabled'].includes(path));
  const documented = new Set(valuePaths(values));
  for (const path of declared) {
    const covered = documented.has(path) || [...documented].some((key) => key.startsWith(`${path}.`) || path.startsWith(`${key}.`));
    expect({ path, covered }).toEqual({ path, covered: true });
  }
  // Every leaf setting has a comment right above it (or above its section).
  const lines = valuesText.split('\n');
  lines.forEach((line, index) => {
    const match = /^(\s*)([\w.-]+):/.exec(line);
    if (!match || match[1].length > 2) return;
    let previous = index - 1;
    while (previous >= 0 && lines[previous].trim() === '') previous -= 1;
    const commented = previous >= 0 && (lines[previous].trim().startsWith('#') || /:\s*$/.test(lines[previous]));
    expect({ line: line.trim(), commented }).toEqual({ line: line.trim(), commented: true });
  });
});

test('the umbrella chart renders the service charts of this checkout, at the versions it declares', () => {
  const umbrella = parse(readFileSync(join(umbrellaChart, 'Chart.yaml'), 'utf8'));
  expect(umbrella.dependencies.map((dependency) => dependency.name).sort()).toEqual([...serviceCharts].sort());
  for (const dependency of umbrella.dependencies) {
    const link = join(umbrellaChart, 'charts', dependency.name);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(`../../${dependency.name}`);
    expect(realpathSync(link)).toBe(realpathSync(join(chartsDir, dependency.name)));
    expect(dependency.repository).toBe(`file://../${dependency.name}`);
    expect(dependency.condition).toBe(`${dependency.name}.enabled`);
    const chart = parse(readFileSync(join(chartsDir, dependency.name, 'Chart.yaml'), 'utf8'));
    expect(dependency.version).toBe(chart.version);
    expect(chart.appVersion).toBe(umbrella.appVersion);
  }
});

test.each(serviceCharts)('dashboards/%s.json is the dashboard the chart ships', (service) => {
  const topLevel = join(repoRoot, 'dashboards', `${service}.json`);
  const inChart = join(chartsDir, service, 'dashboards', `${service}.json`);
  expect(realpathSync(topLevel)).toBe(realpathSync(inChart));
  expect(readFileSync(topLevel, 'utf8')).toBe(readFileSync(inChart, 'utf8'));
});

test('the packaged umbrella chart contains both service charts and renders the same objects', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chart-package-'));
  try {
    await helm(['package', umbrellaChart, '--destination', dir]);
    const [archive] = readdirSync(dir);
    expect(archive).toMatch(/^learning-analytics-\d+\.\d+\.\d+\.tgz$/);
    const fromArchive = await helmTemplate(join(dir, archive));
    const fromDirectory = await helmTemplate(umbrellaChart);
    expect(fromArchive.objects).toEqual(fromDirectory.objects);
    expect(fromArchive.objects.length).toBeGreaterThan(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.each(serviceCharts)('%s: the chart deploys the version of the service in this checkout by default', (service) => {
  const chart = parse(readFileSync(join(chartsDir, service, 'Chart.yaml'), 'utf8'));
  const { version } = JSON.parse(readFileSync(join(servicePath(service), 'package.json'), 'utf8'));
  expect(chart.appVersion).toBe(version);
});
