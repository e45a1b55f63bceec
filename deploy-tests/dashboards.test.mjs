// The Grafana dashboards, statically: well-formed for Grafana, templated on datasource,
// namespace and job, every query scoped by those variables, every metric one the services
// actually expose, and the panels the operators need. (scripts/verify-dashboards.mjs runs the
// queries against a real Prometheus scraping the running services.)
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { dashboardTargets, dashboardVariables, substituteVariables } from '../scripts/verify-dashboards.mjs';
import { chartsDir, servicePath } from './support/repository.mjs';

const dashboardOf = (service) => JSON.parse(readFileSync(join(chartsDir, service, 'dashboards', `${service}.json`), 'utf8'));

/** Metric names a service registers in its TypeScript sources (prom-client `name: '...'`). */
function metricsDefinedIn(dir) {
  const names = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const source = readFileSync(join(entry.parentPath ?? entry.path, entry.name), 'utf8');
    for (const match of source.matchAll(/\bname:\s*'([a-z_:][a-z0-9_:]*)'/g)) names.push(match[1]);
  }
  return names;
}

async function defaultMetricNames() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return (await registry.getMetricsAsJSON()).map((metric) => metric.name);
}

/** Series names a PromQL expression selects (identifiers followed by a `{` selector). */
const selectedMetrics = (expr) => [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((match) => match[1]);
const baseName = (name) => name.replace(/_(bucket|sum|count)$/, '');

// What each dashboard must show (issue: RED per service, ingestion, group commit, recompute,
// client, feed lag and failures, BKT fits and re-derivation, authentication, Node runtime): a
// panel whose queries use each metric.
const requiredMetrics = {
  'learning-events': [
    'http_request_duration_seconds_count',
    'http_request_duration_seconds_bucket',
    'events_ingested_total',
    'events_rejected_total',
    'events_write_batch_size_bucket',
    'events_commit_duration_seconds_bucket',
    'auth_failures_total',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
    'process_cpu_seconds_total',
  ],
  'concept-mastery': [
    'http_request_duration_seconds_count',
    'http_request_duration_seconds_bucket',
    'mastery_recompute_duration_seconds_bucket',
    'mastery_recompute_events_total',
    'learning_events_client_requests_total',
    'learning_events_client_retries_total',
    'mastery_feed_lag_events',
    'mastery_feed_lag_seconds',
    'mastery_feed_failures_total',
    'mastery_feed_refolds_total',
    'bkt_fits_total',
    'bkt_fit_duration_seconds_bucket',
    'bkt_fit_observations',
    'bkt_params_version',
    'bkt_evaluation_auc',
    'bkt_rederive_pending_records',
    'bkt_rederived_records_total',
    'auth_failures_total',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
    'process_cpu_seconds_total',
  ],
};

describe.each(['learning-events', 'concept-mastery'])('dashboards/%s.json', (service) => {
  const dashboard = dashboardOf(service);
  const panels = dashboard.panels.filter((panel) => panel.type !== 'row');

  test('is a Grafana dashboard with a stable uid, templated on datasource, namespace and job', () => {
    expect(dashboard.uid).toBe(service);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const variables = Object.fromEntries(dashboard.templating.list.map((variable) => [variable.name, variable]));
    expect(variables.datasource).toEqual(expect.objectContaining({ type: 'datasource', query: 'prometheus' }));
    expect(dashboardVariables(dashboard).map((variable) => [variable.name, variable.label])).toEqual([
      ['namespace', 'namespace'],
      ['job', 'job'],
    ]);
    for (const name of ['namespace', 'job']) {
      expect(variables[name]).toEqual(
        expect.objectContaining({ includeAll: true, allValue: '.*', datasource: { type: 'prometheus', uid: '${datasource}' } }),
      );
    }
  });

  test('every panel queries the selected datasource, and has a title, a description and a place on the grid', () => {
    expect(panels.length).toBeGreaterThan(0);
    const ids = new Set();
    for (const panel of panels) {
      expect(ids.has(panel.id)).toBe(false);
      ids.add(panel.id);
      expect(panel.title).toEqual(expect.any(String));
      expect(panel.description).toEqual(expect.any(String));
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) expect(target.datasource).toEqual(panel.datasource);
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    }
    // No two panels overlap.
    const cells = new Set();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      for (let row = y; row < y + h; row += 1) {
        for (let column = x; column < x + w; column += 1) {
          expect(cells.has(`${row}:${column}`)).toBe(false);
          cells.add(`${row}:${column}`);
        }
      }
    }
  });

  test('every series selector is scoped to the selected namespace and job', () => {
    const targets = dashboardTargets(dashboard);
    expect(targets.length).toBeGreaterThan(0);
    for (const { panel, expr } of targets) {
      const selectors = [...expr.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*\{([^}]*)\}/g)].map((match) => match[1]);
      expect(selectors.length).toBeGreaterThan(0);
      for (const selector of selectors) {
        expect({ panel, selector, scoped: selector.includes('namespace=~"$namespace"') && selector.includes('job=~"$job"') }).toEqual({
          panel,
          selector,
          scoped: true,
        });
      }
      // Every variable it uses is one the verification substitutes.
      expect(() => substituteVariables(expr, { namespace: 'n', job: 'j' })).not.toThrow();
    }
  });

  test('shows the metrics operators need', () => {
    const used = new Set(dashboardTargets(dashboard).flatMap(({ expr }) => selectedMetrics(expr)));
    for (const metric of requiredMetrics[service]) expect({ metric, used: used.has(metric) }).toEqual({ metric, used: true });
  });
});

// The metric names are checked against both services' sources; neither can be left out.
test.each(['learning-events', 'concept-mastery'])('every metric the %s dashboard queries is one the service exposes', async (service) => {
  const exposed = new Set([
    'up',
    ...(await defaultMetricNames()),
    ...metricsDefinedIn(join(servicePath('common'), 'src')),
    ...metricsDefinedIn(join(servicePath(service), 'src')),
  ]);
  const targets = dashboardTargets(dashboardOf(service));
  expect(targets.length).toBeGreaterThan(0);
  for (const { panel, expr } of targets) {
    for (const metric of selectedMetrics(expr)) {
      expect({ panel, metric, exposed: exposed.has(metric) || exposed.has(baseName(metric)) }).toEqual({ panel, metric, exposed: true });
    }
  }
});
