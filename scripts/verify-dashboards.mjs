#!/usr/bin/env node
// Verifies the Grafana dashboards against a real Prometheus (Debian package `prometheus`):
//
//   1. starts the built services as processes (free ports, temp databases);
//   2. checks each one's /metrics with `promtool check metrics` (must be clean);
//   3. starts Prometheus scraping them every second, under the job names and the namespace
//      label the dashboards select on (job = service name, as the charts' ServiceMonitor sets it);
//   4. drives traffic: events of every type, batches, rejected requests, reads, the feed and,
//      with the Brain, recomputes and mastery reads;
//   5. resolves each dashboard's template variables through Prometheus, substitutes them in
//      every panel query and runs it through the HTTP API: each must parse, and each must
//      return data.
//
// Usage: npm run build && node scripts/verify-dashboards.mjs
// The Brain's dashboard is checked for data once services/concept-mastery exists; before, its
// queries are only parsed (said loudly in the output).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NAMESPACE = 'learning-analytics';
const SCRAPE_SECONDS = 1;
const RATE_INTERVAL = '1m';

export const SERVICES = [
  { name: 'learning-events', dashboard: 'charts/learning-events/dashboards/learning-events.json' },
  { name: 'concept-mastery', dashboard: 'charts/concept-mastery/dashboards/concept-mastery.json' },
];

// ---------------------------------------------------------------------------------------------
// Dashboards

/** Every query of a dashboard: panel title, refId and PromQL, rows' nested panels included. */
export function dashboardTargets(dashboard) {
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  return panels
    .filter((panel) => panel.type !== 'row')
    .flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, refId: target.refId, expr: target.expr })));
}

/** The dashboard's query variables and the Prometheus series selector each takes values from. */
export function dashboardVariables(dashboard) {
  return dashboard.templating.list
    .filter((variable) => variable.type === 'query')
    .map((variable) => {
      const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
      const match = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(query.trim());
      if (!match) throw new Error(`variable ${variable.name}: unsupported query ${query}`);
      return { name: variable.name, selector: match[1], label: match[2] };
    });
}

/** Replaces $var, ${var} and Grafana's $__rate_interval; fails on anything left over. */
export function substituteVariables(expr, values) {
  const all = { __rate_interval: RATE_INTERVAL, ...values };
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_match, braced, bare) => {
    const name = braced ?? bare;
    if (!Object.hasOwn(all, name)) throw new Error(`unknown variable $${name} in ${expr}`);
    return all[name];
  });
}

// ---------------------------------------------------------------------------------------------
// Processes

const delay = (ms) => new Promise((done) => setTimeout(done, ms));

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

function startProcess(label, command, args, options) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
  child.on('error', (error) => {
    output += `\n${error.message}`;
  });
  return { label, child, exited, output: () => output };
}

async function stopProcess(process) {
  if (process.child.exitCode !== null || process.child.signalCode !== null) return;
  process.child.kill('SIGTERM');
  let timer;
  const timedOut = new Promise((done) => {
    timer = setTimeout(() => done(null), 15_000);
  });
  const stopped = await Promise.race([process.exited, timedOut]);
  clearTimeout(timer);
  if (stopped === null) {
    process.child.kill('SIGKILL');
    await process.exited;
  }
}

async function waitFor(url, process, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (process.child.exitCode !== null) break;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await delay(200);
  }
  throw new Error(`${process.label} did not answer ${url}; its output:\n${process.output()}`);
}

function requireCommand(command, hint) {
  const found = spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
  if (!found) throw new Error(`${command} is not installed: ${hint}`);
}

async function startService(name, port, dataDir, extraEnv = {}) {
  const serviceDir = join(repoRoot, 'services', name);
  if (!existsSync(join(serviceDir, 'dist', 'src', 'main.js'))) throw new Error(`${name} is not built: run \`npm run build\` first`);
  const process = startProcess(name, 'node', ['--import', './dist/src/instrumentation.js', './dist/src/main.js'], {
    cwd: serviceDir,
    env: {
      PATH: globalThis.process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(dataDir, `${name}.db`)}`,
      LOG_LEVEL: 'warn',
      ...extraEnv,
    },
  });
  await waitFor(`http://127.0.0.1:${port}/ready`, process);
  return process;
}

// ---------------------------------------------------------------------------------------------
// Checks

async function checkMetricsWithPromtool(name, port) {
  const exposition = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  const problems = `${result.stdout}${result.stderr}`.trim();
  if (result.status !== 0 || problems !== '') return [`promtool check metrics, ${name}:\n${problems}`];
  console.log(`promtool check metrics, ${name}: clean`);
  return [];
}

/** One request; the status, or what went wrong on the way (fetch hides it in `cause`). */
async function request(method, url, body, contentType) {
  try {
    const init = body === undefined ? { method } : { method, headers: { 'content-type': contentType }, body };
    const response = await fetch(url, init);
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    throw new Error(`${method} ${url}: ${error.cause?.message ?? error.message}`);
  }
}

const post = (url, body, contentType = 'application/json') =>
  request('POST', url, typeof body === 'string' ? body : JSON.stringify(body), contentType);
const get = (url) => request('GET', url);

/** Traffic that makes every panel's series exist: writes, reads, rejections, recomputes. */
async function driveTraffic(loggerUrl, brainUrl, seconds) {
  const types = ['quiz_attempt', 'video_watched', 'assignment_submitted'];
  const statuses = {};
  const count = (status) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
  };
  const deadline = Date.now() + seconds * 1000;
  let round = 0;
  while (Date.now() < deadline) {
    round += 1;
    const user = `student-${round % 5}`;
    const concurrent = [];
    for (let i = 0; i < 8; i += 1) {
      const type = types[i % types.length];
      const details = type === 'quiz_attempt' ? { score: (round * 17 + i * 13) % 101 } : {};
      concurrent.push(
        post(`${loggerUrl}/events`, { user_id: user, event_type: type, concept_id: `concept-${i % 3}`, event_details: details }),
      );
    }
    concurrent.push(
      post(
        `${loggerUrl}/events/batch`,
        types.map((type, i) => ({
          user_id: user,
          event_type: type,
          concept_id: `concept-${i}`,
          event_details: type === 'quiz_attempt' ? { correct: true } : {},
        })),
      ),
    );
    concurrent.push(post(`${loggerUrl}/events`, { user_id: user, event_type: 'not_a_type', concept_id: 'c' }));
    concurrent.push(post(`${loggerUrl}/events`, '{"user_id": ', 'application/json'));
    concurrent.push(post(`${loggerUrl}/events`, 'user_id=x', 'text/plain'));
    concurrent.push(get(`${loggerUrl}/events/${user}`));
    concurrent.push(get(`${loggerUrl}/events/${user}/concept-1`));
    concurrent.push(get(`${loggerUrl}/feed?after=0&limit=100`));
    if (brainUrl) {
      concurrent.push(post(`${brainUrl}/mastery/recompute/${user}`, ''));
      concurrent.push(get(`${brainUrl}/mastery/${user}`));
      concurrent.push(get(`${brainUrl}/mastery/${user}/no-such-concept`));
    }
    for (const status of await Promise.all(concurrent)) count(status);
    await delay(100);
  }
  return statuses;
}

async function prometheusQuery(prometheusUrl, query) {
  const response = await fetch(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query })}`);
  return response.json();
}

async function labelValues(prometheusUrl, selector, label) {
  const response = await fetch(
    `${prometheusUrl}/api/v1/series?${new URLSearchParams({ 'match[]': selector, start: String(Date.now() / 1000 - 600) })}`,
  );
  const body = await response.json();
  if (body.status !== 'success') throw new Error(`series ${selector}: ${body.error}`);
  return [...new Set(body.data.map((series) => series[label]).filter((value) => value !== undefined))].sort();
}

async function waitForScrapes(prometheusUrl, jobs) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const body = await prometheusQuery(prometheusUrl, `count_over_time(up{job=~"${jobs.join('|')}"}[1m])`).catch(() => null);
    const counts = Object.fromEntries((body?.data?.result ?? []).map((series) => [series.metric.job, Number(series.value[1])]));
    if (jobs.every((job) => (counts[job] ?? 0) >= 5)) return;
    await delay(500);
  }
  throw new Error(`Prometheus did not scrape ${jobs.join(', ')} five times within a minute`);
}

async function checkDashboard(prometheusUrl, service, { dataExpected }) {
  const problems = [];
  const dashboard = JSON.parse(readFileSync(join(repoRoot, service.dashboard), 'utf8'));
  const values = {};
  for (const variable of dashboardVariables(dashboard)) {
    const selector = substituteVariables(variable.selector, values);
    const found = await labelValues(prometheusUrl, selector, variable.label);
    const wanted = { namespace: NAMESPACE, job: service.name }[variable.name];
    console.log(`  variable ${variable.name} = label_values(${selector}, ${variable.label}) -> [${found.join(', ')}]`);
    if (dataExpected && !found.includes(wanted))
      problems.push(`${service.name}: variable ${variable.name} does not offer ${wanted} (found [${found.join(', ')}])`);
    values[variable.name] = wanted;
  }
  for (const target of dashboardTargets(dashboard)) {
    const query = substituteVariables(target.expr, values);
    const body = await prometheusQuery(prometheusUrl, query);
    const where = `${service.name} / ${target.panel} / ${target.refId}`;
    if (body.status !== 'success') {
      problems.push(`${where}: ${body.errorType}: ${body.error}\n    ${query}`);
      console.log(`  FAIL  ${where}: ${body.error}`);
      continue;
    }
    const series = body.data.result.length;
    if (dataExpected && series === 0) {
      problems.push(`${where}: no data\n    ${query}`);
      console.log(`  FAIL  ${where}: no data`);
    } else {
      console.log(`  ok    ${where}: ${series} series`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  requireCommand('prometheus', 'install the Debian package `prometheus`');
  requireCommand('promtool', 'install the Debian package `prometheus`');
  const brainExists = existsSync(join(repoRoot, 'services', 'concept-mastery', 'package.json'));
  const running = [];
  const workDir = mkdtempSync(join(tmpdir(), 'verify-dashboards-'));
  const problems = [];
  const started = Date.now();
  try {
    const loggerPort = await freePort();
    const logger = await startService('learning-events', loggerPort, workDir);
    running.push(logger);
    const targets = { 'learning-events': loggerPort };
    let brainUrl = null;
    if (brainExists) {
      const brainPort = await freePort();
      running.push(await startService('concept-mastery', brainPort, workDir, { LEARNING_EVENTS_URL: `http://127.0.0.1:${loggerPort}` }));
      targets['concept-mastery'] = brainPort;
      brainUrl = `http://127.0.0.1:${brainPort}`;
    } else {
      console.log('NOTE: services/concept-mastery does not exist yet: its dashboard is only parsed, not checked for data.');
    }

    const prometheusPort = await freePort();
    const prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
    const config = {
      global: { scrape_interval: `${SCRAPE_SECONDS}s`, evaluation_interval: `${SCRAPE_SECONDS}s` },
      scrape_configs: Object.entries(targets).map(([job, port]) => ({
        job_name: job,
        static_configs: [{ targets: [`127.0.0.1:${port}`], labels: { namespace: NAMESPACE } }],
      })),
    };
    // JSON is YAML: Prometheus reads this file as its configuration.
    writeFileSync(join(workDir, 'prometheus.yml'), JSON.stringify(config, null, 2));
    const check = spawnSync('promtool', ['check', 'config', join(workDir, 'prometheus.yml')], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`generated Prometheus configuration rejected:\n${check.stdout}${check.stderr}`);
    const prometheus = startProcess(
      'prometheus',
      'prometheus',
      [
        `--config.file=${join(workDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(workDir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
      ],
      { cwd: workDir },
    );
    running.push(prometheus);
    await waitFor(`${prometheusUrl}/-/ready`, prometheus);

    for (const [name, port] of Object.entries(targets)) problems.push(...(await checkMetricsWithPromtool(name, port)));

    const statuses = await driveTraffic(`http://127.0.0.1:${loggerPort}`, brainUrl, 12);
    console.log(
      `traffic: ${Object.entries(statuses)
        .map(([status, n]) => `${n} x ${status}`)
        .join(', ')}`,
    );
    await waitForScrapes(prometheusUrl, Object.keys(targets));
    await delay(3 * SCRAPE_SECONDS * 1000);

    for (const service of SERVICES) {
      const dataExpected = service.name !== 'concept-mastery' || brainExists;
      console.log(`dashboard ${service.dashboard}${dataExpected ? '' : ' (parse only)'}`);
      problems.push(...(await checkDashboard(prometheusUrl, service, { dataExpected })));
    }
  } catch (error) {
    for (const process of running) {
      if (process.child.exitCode !== null)
        console.error(`${process.label} exited with ${process.child.exitCode}; its output:\n${process.output()}`);
    }
    throw error;
  } finally {
    for (const process of running.reverse()) await stopProcess(process);
    rmSync(workDir, { recursive: true, force: true });
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (problems.length > 0) {
    console.error(`\nverify-dashboards: ${problems.length} problem(s) in ${seconds}s:\n- ${problems.join('\n- ')}`);
    process.exitCode = 1;
  } else {
    console.log(`\nverify-dashboards: every panel query parses and returns data; metrics are promtool-clean (${seconds}s)`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`verify-dashboards: ${error.stack ?? error.message}`);
    process.exitCode = 1;
  });
}
