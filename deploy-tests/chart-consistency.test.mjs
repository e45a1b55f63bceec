// What keeps the charts one coherent set: the two service charts share their templates through
// the library chart service-common (each keeps only one-line includes of it and the parts that
// differ per service), their schemas agree wherever both declare a key, every schema key is
// documented in values.yaml, the umbrella renders the service charts (and they the library) of
// the same checkout, and the dashboards exist once.
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { helm, helmTemplate } from './support/helm.mjs';
import { chartsDir, repoRoot, serviceCharts, servicePath, umbrellaChart } from './support/repository.mjs';

const libraryChart = join(chartsDir, 'service-common');
// A service chart's own templates: what the service adds to the library (the parts the library
// asks for, its environment, its notes). Every other template is one include of the library.
const serviceSpecificTemplates = ['templates/_helpers.tpl', 'templates/_env.tpl', 'templates/_networkpolicy.tpl', 'templates/NOTES.txt'];

const filesUnder = (dir, base = dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), base) : [relative(base, join(dir, entry.name))],
  );
/** The names of the templates a chart's templates/ directory defines. */
const definedIn = (chartDir) =>
  filesUnder(join(chartDir, 'templates')).flatMap((file) =>
    [...readFileSync(join(chartDir, 'templates', file), 'utf8').matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)].map((match) => match[1]),
  );
const libraryTemplates = () =>
  filesUnder(join(libraryChart, 'templates')).map((file) => readFileSync(join(libraryChart, 'templates', file), 'utf8'));

test('both service charts have the same templates: one include of the library each, besides the service-specific ones', () => {
  const [logger, brain] = serviceCharts;
  const loggerTemplates = filesUnder(join(chartsDir, logger, 'templates')).sort();
  expect(filesUnder(join(chartsDir, brain, 'templates')).sort()).toEqual(loggerTemplates);
  const libraryDefines = new Set(definedIn(libraryChart));
  for (const chart of serviceCharts) {
    for (const file of loggerTemplates.map((name) => `templates/${name}`)) {
      if (serviceSpecificTemplates.includes(file)) continue;
      const content = readFileSync(join(chartsDir, chart, file), 'utf8');
      const included = /^\{\{- include "(service-common\.[A-Za-z]+)" \. \}\}\n$/.exec(content)?.[1];
      expect({ chart, file, included: libraryDefines.has(included) ? 'a library template' : content }).toEqual({
        chart,
        file,
        included: 'a library template',
      });
    }
  }
});

test('each service chart defines every part the library asks it for, and only templates of its own name', () => {
  const parts = [
    ...new Set(libraryTemplates().flatMap((text) => [...text.matchAll(/printf "%s\.(\w+)" \.Chart\.Name/g)].map((match) => match[1]))),
  ];
  expect(parts.sort()).toEqual([
    'networkPolicyEgress',
    'networkPolicyPeers',
    'nickname',
    'serviceEnv',
    'serviceVolumeMounts',
    'serviceVolumes',
  ]);
  expect(definedIn(libraryChart).filter((name) => !name.startsWith('service-common.'))).toEqual([]);
  for (const chart of serviceCharts) {
    const defined = definedIn(join(chartsDir, chart));
    // Helm keeps one set of template names for a chart and its dependencies (both services in the
    // umbrella): a name without the chart's prefix would collide.
    expect({ chart, foreign: defined.filter((name) => !name.startsWith(`${chart}.`)) }).toEqual({ chart, foreign: [] });
    for (const part of parts)
      expect({ chart, part, defined: defined.includes(`${chart}.${part}`) }).toEqual({ chart, part, defined: true });
  }
});

test('each service chart renders the library of this checkout, at the version it declares', () => {
  const library = parse(readFileSync(join(libraryChart, 'Chart.yaml'), 'utf8'));
  expect(library.type).toBe('library');
  for (const chart of serviceCharts) {
    const { dependencies } = parse(readFileSync(join(chartsDir, chart, 'Chart.yaml'), 'utf8'));
    expect(dependencies).toEqual([{ name: 'service-common', version: library.version, repository: 'file://../service-common' }]);
    const link = join(chartsDir, chart, 'charts', 'service-common');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('../../service-common');
    expect(realpathSync(link)).toBe(realpathSync(libraryChart));
    expect(readdirSync(join(chartsDir, chart, 'charts'))).toEqual(['service-common']);
  }
});

test("the service charts' schemas agree wherever both declare a key", () => {
  const [logger, brain] = serviceCharts.map((chart) => JSON.parse(readFileSync(join(chartsDir, chart, 'values.schema.json'), 'utf8')));
  // A key only one chart declares is that service's own (config.passScore, feed, ...).
  const disagreements = [];
  const compare = (a, b, path) => {
    const objects = [a, b].every((value) => value !== null && typeof value === 'object' && !Array.isArray(value));
    if (!objects) {
      if (JSON.stringify(a) !== JSON.stringify(b)) disagreements.push(path);
      return;
    }
    for (const key of Object.keys(a)) if (key in b) compare(a[key], b[key], `${path}/${key}`);
  };
  compare({ ...logger, title: '' }, { ...brain, title: '' }, '');
  expect(disagreements).toEqual([]);
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
  // Keys set by Helm (global, service-common) or by the umbrella chart (enabled) are not this
  // chart's settings.
  const declared = schemaPaths(schema, schema.definitions).filter(
    (path) => !['global', 'enabled', 'service-common'].includes(path.split('.')[0]),
  );
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
