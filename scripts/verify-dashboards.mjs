#!/usr/bin/env node
// Verifies the Grafana dashboards against a real Prometheus (Debian package `prometheus`):
//
//   1. starts the built services as processes (free ports, temp databases), with authentication
//      required as the charts deploy them: API keys for the traffic driver and for the Brain's
//      calls to the Logger;
//   2. checks each one's /metrics with `promtool check metrics` (must be clean);
//   3. starts Prometheus scraping them every second, under the job names and the namespace
//      label the dashboards select on (job = service name, as the charts' ServiceMonitor sets it);
//   4. drives traffic: events of every type, batches, rejected requests, reads, the feed,
//      requests refused 401/403 and, with the Brain, recomputes and mastery reads; then graded
//      answers of enough students for a BKT fit, the fit, a back-dated answer (a refold), and
//      the Brain's key revoked in the Logger for a moment (a refused feed read);
//   5. resolves each dashboard's template variables through Prometheus, substitutes them in
//      every panel query and runs it through the HTTP API: each must parse, and each must
//      return data.
//
// Usage: npm run build && node scripts/verify-dashboards.mjs
// The Brain's dashboard is checked for data once services/concept-mastery exists; before, its
// queries are only parsed (said loudly in the output).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NAMESPACE = 'learning-analytics';
const SCRAPE_SECONDS = 1;
const RATE_INTERVAL = '1m';
// Grafana's $__range: the dashboards' default time range (now-1h).
const RANGE = '1h';

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

/** Replaces $var, ${var} and Grafana's $__rate_interval and $__range; fails on anything left over. */
export function substituteVariables(expr, values) {
  const all = { __rate_interval: RATE_INTERVAL, __range: RANGE, ...values };
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

/** One request: its status and JSON body, or what went wrong on the way (fetch hides it in `cause`). */
async function request(method, url, { body, contentType = 'application/json', authorization } = {}) {
  const headers = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = contentType;
  let response;
  let text;
  try {
    response = await fetch(url, { method, headers, body });
    text = await response.text();
  } catch (error) {
    throw new Error(`${method} ${url}: ${error.cause?.message ?? error.message}`);
  }
  let json;
  try {
    json = /json/.test(response.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined;
  } catch {
    // not JSON after all: the status says enough
  }
  return { status: response.status, body: json };
}

/** Requests sent with one Authorization header (undefined: none). */
function caller(authorization) {
  const send = (method, url, body, contentType) =>
    request(method, url, {
      body: typeof body === 'string' || body === undefined ? body : JSON.stringify(body),
      contentType,
      authorization,
    });
  return {
    get: (url) => send('GET', url),
    post: (url, body = '', contentType = 'application/json') => send('POST', url, body, contentType),
  };
}

// ---------------------------------------------------------------------------------------------
// Credentials: API keys as the services read them (AUTH_API_KEYS_FILE holds only each secret's
// SHA-256), a fresh secret per run.

const sha256Hex = (text) => createHash('sha256').update(text, 'utf8').digest('hex');

function newApiKey(id, scopes) {
  const secret = randomBytes(24).toString('hex');
  return { key: `${id}.${secret}`, entry: { id, sha256: sha256Hex(secret), scopes } };
}

/** Replaces a keys file the way Kubernetes updates a mounted Secret: a new file renamed over it. */
function writeKeysFile(path, entries) {
  writeFileSync(`${path}.next`, JSON.stringify(entries, null, 2));
  renameSync(`${path}.next`, path);
}

/**
 * The keys of a run: the driver's (admin, on both services) and the Brain's own for the Logger
 * (events:read only, so that revoking it refuses the Brain and nobody else).
 */
function createCredentials(workDir) {
  const driver = newApiKey('verify', ['admin']);
  const brain = newApiKey('concept-mastery', ['events:read']);
  const credentials = {
    driver: driver.key,
    brain: brain.key,
    files: {
      'learning-events': { path: join(workDir, 'learning-events-api-keys.json'), entries: [driver.entry, brain.entry] },
      'concept-mastery': { path: join(workDir, 'concept-mastery-api-keys.json'), entries: [driver.entry] },
    },
  };
  for (const { path, entries } of Object.values(credentials.files)) writeKeysFile(path, entries);
  return credentials;
}

// ---------------------------------------------------------------------------------------------
// Traffic

/**
 * Calls each service must refuse: the status each must get, and the reason its
 * auth_failures_total counts it under.
 */
function refusedCalls(loggerUrl, brainUrl, credentials) {
  const anonymous = caller(undefined);
  const wrongSecret = caller('Bearer verify.wrong-secret');
  const malformed = caller('Bearer not-a-credential');
  const brainKey = caller(`Bearer ${credentials.brain}`);
  const event = { user_id: 'student-0', event_type: 'video_watched', concept_id: 'concept-0' };
  const calls = [
    [loggerUrl, 'POST /events', 401, 'missing_credential', () => anonymous.post(`${loggerUrl}/events`, event)],
    [loggerUrl, 'GET /feed', 401, 'wrong_secret', () => wrongSecret.get(`${loggerUrl}/feed?after=0&limit=1`)],
    [loggerUrl, 'GET /events/{user_id}', 401, 'malformed_header', () => malformed.get(`${loggerUrl}/events/student-0`)],
    [loggerUrl, 'POST /events, events:read key', 403, 'missing_scope', () => brainKey.post(`${loggerUrl}/events`, event)],
  ];
  if (brainUrl) {
    calls.push(
      [brainUrl, 'GET /mastery/{user_id}', 401, 'missing_credential', () => anonymous.get(`${brainUrl}/mastery/student-0`)],
      [
        brainUrl,
        'POST /mastery/recompute/{user_id}',
        401,
        'wrong_secret',
        () => wrongSecret.post(`${brainUrl}/mastery/recompute/student-0`),
      ],
      // The Brain's key is the Logger's; the Brain itself does not know it.
      [brainUrl, 'GET /models/bkt', 401, 'unknown_api_key', () => brainKey.get(`${brainUrl}/models/bkt`)],
    );
  }
  const names = { [loggerUrl]: 'learning-events', [brainUrl]: 'concept-mastery' };
  return calls.map(([service, route, status, reason, send]) => ({ service, label: `${names[service]} ${route}`, status, reason, send }));
}

/** The refused calls whose reason the service's auth_failures_total does not count. */
async function uncountedRefusals(refusals) {
  const uncounted = [];
  for (const service of new Set(refusals.map((call) => call.service))) {
    const samples = await scrapeMetrics(service);
    for (const call of refusals.filter((refusal) => refusal.service === service)) {
      if (!(samples.get(`auth_failures_total{reason="${call.reason}"}`) > 0))
        uncounted.push(`${call.label}: auth_failures_total{reason="${call.reason}"} not counted`);
    }
  }
  return uncounted;
}

/**
 * Traffic that makes every panel's series exist: writes, reads, rejections, recomputes, refusals.
 * Returns the statuses of the authenticated calls, and the refused calls that were not refused so.
 */
async function driveTraffic(loggerUrl, brainUrl, seconds, credentials) {
  const api = caller(`Bearer ${credentials.driver}`);
  const types = ['quiz_attempt', 'video_watched', 'assignment_submitted'];
  const statuses = {};
  const unexpected = new Set();
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
        api.post(`${loggerUrl}/events`, { user_id: user, event_type: type, concept_id: `concept-${i % 3}`, event_details: details }),
      );
    }
    concurrent.push(
      api.post(
        `${loggerUrl}/events/batch`,
        types.map((type, i) => ({
          user_id: user,
          event_type: type,
          concept_id: `concept-${i}`,
          event_details: type === 'quiz_attempt' ? { correct: true } : {},
        })),
      ),
    );
    concurrent.push(api.post(`${loggerUrl}/events`, { user_id: user, event_type: 'not_a_type', concept_id: 'c' }));
    concurrent.push(api.post(`${loggerUrl}/events`, '{"user_id": ', 'application/json'));
    concurrent.push(api.post(`${loggerUrl}/events`, 'user_id=x', 'text/plain'));
    concurrent.push(api.get(`${loggerUrl}/events/${user}`));
    concurrent.push(api.get(`${loggerUrl}/events/${user}/concept-1`));
    concurrent.push(api.get(`${loggerUrl}/feed?after=0&limit=100`));
    if (brainUrl) {
      concurrent.push(api.post(`${brainUrl}/mastery/recompute/${user}`));
      concurrent.push(api.get(`${brainUrl}/mastery/${user}`));
      concurrent.push(api.get(`${brainUrl}/mastery/${user}/no-such-concept`));
    }
    const refusals = refusedCalls(loggerUrl, brainUrl, credentials);
    const [answers, refused] = await Promise.all([Promise.all(concurrent), Promise.all(refusals.map((call) => call.send()))]);
    for (const { status } of answers) count(status);
    refused.forEach(({ status }, i) => {
      const call = refusals[i];
      if (status !== call.status) unexpected.add(`${call.label}: answered ${status}, expected ${call.status}`);
    });
    await delay(100);
  }
  const uncounted = await uncountedRefusals(refusedCalls(loggerUrl, brainUrl, credentials));
  return { statuses, unexpected: [...unexpected, ...uncounted] };
}

/** A service's /metrics as a map from `name{labels}` (as exposed) to its value. */
async function scrapeMetrics(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const samples = new Map();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) samples.set(match[1], Number(match[2]));
  }
  return samples;
}

async function until(what, check, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await delay(200);
  }
  throw new Error(`timed out after ${seconds}s waiting for ${what}`);
}

/** Until the Brain's consumer has applied everything the Logger holds now. */
async function waitForConsumer(loggerUrl, brainUrl, api) {
  const { status, body } = await api.get(`${loggerUrl}/feed?after=${Number.MAX_SAFE_INTEGER}&limit=1`);
  if (status !== 200) throw new Error(`GET /feed: ${status}`);
  const head = body.head_seq;
  await until(`the Brain's feed cursor to reach the Logger's head (${head})`, async () => {
    return ((await scrapeMetrics(brainUrl)).get('mastery_feed_cursor_seq') ?? 0) >= head;
  });
}

const BKT_CONCEPT = 'verify-bkt';
const BKT_STUDENTS = 30;
const BKT_ANSWERS = 8;

/**
 * Graded answers on one concept, enough students for a fit (BKT_MIN_STUDENTS, 20 by default) and
 * both outcomes in every fold: each student guesses until a learning moment, then mostly knows.
 * A fixed-seed generator, so every run fits the same data. One minute apart, from `start`.
 */
function bktAnswers(start) {
  let state = 0x2545f491;
  const random = () => {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const answers = [];
  for (let student = 0; student < BKT_STUDENTS; student += 1) {
    const learnsAt = student % (BKT_ANSWERS - 1);
    for (let i = 0; i < BKT_ANSWERS; i += 1) {
      answers.push({
        user_id: `bkt-student-${student}`,
        event_type: 'quiz_attempt',
        concept_id: BKT_CONCEPT,
        event_details: { correct: random() < (i >= learnsAt ? 0.9 : 0.2) },
        timestamp: new Date(start + i * 60_000).toISOString(),
      });
    }
  }
  return answers;
}

/**
 * The data of the Bayesian Knowledge Tracing row: a fit over the answers of enough students (its
 * duration, status, observations, AUC, the records derived again after it), then an answer
 * back-dated before a student's earlier ones, which the consumer must refold.
 */
async function produceBktData(loggerUrl, brainUrl, credentials) {
  const api = caller(`Bearer ${credentials.driver}`);
  const start = Date.now() - 3_600_000;
  const batch = await api.post(`${loggerUrl}/events/batch`, bktAnswers(start));
  if (batch.status !== 201) throw new Error(`POST /events/batch (BKT answers): ${batch.status} ${JSON.stringify(batch.body)}`);
  await waitForConsumer(loggerUrl, brainUrl, api);

  const started = await api.post(`${brainUrl}/models/bkt/fit`);
  if (started.status !== 202) throw new Error(`POST /models/bkt/fit: ${started.status} ${JSON.stringify(started.body)}`);
  let fit;
  await until(
    'the BKT fit to end',
    async () => {
      const answer = await api.get(`${brainUrl}/models/bkt/fits/${started.body.fit_id}`);
      if (answer.status !== 200) throw new Error(`GET /models/bkt/fits/{fit_id}: ${answer.status} ${JSON.stringify(answer.body)}`);
      fit = answer.body;
      return fit.status !== 'running';
    },
    120,
  );
  if (fit.status !== 'succeeded') throw new Error(`the BKT fit ${fit.fit_id} ${fit.status}: ${fit.error}`);
  const evaluation = fit.evaluation.find((concept) => concept.concept_id === BKT_CONCEPT);
  if (!evaluation) throw new Error(`the BKT fit ${fit.fit_id} did not fit ${BKT_CONCEPT}: ${JSON.stringify(fit.concepts)}`);
  console.log(
    `BKT fit: version ${fit.version}, ${fit.progress.answers} answers; ${BKT_CONCEPT} held-out AUC ` +
      `bkt ${evaluation.bkt.auc.toFixed(3)}, pass_ratio ${evaluation.pass_ratio.auc.toFixed(3)}`,
  );
  await until('the BKT records to be derived again with the new parameters', async () => {
    return ((await scrapeMetrics(brainUrl)).get('bkt_rederived_records_total') ?? 0) > 0;
  });

  const backDated = await api.post(`${loggerUrl}/events`, {
    user_id: 'bkt-student-0',
    event_type: 'quiz_attempt',
    concept_id: BKT_CONCEPT,
    event_details: { correct: true },
    timestamp: new Date(start - 60_000).toISOString(),
  });
  if (backDated.status !== 201) throw new Error(`POST /events (back-dated answer): ${backDated.status} ${JSON.stringify(backDated.body)}`);
  await until('the back-dated answer to be refolded', async () => {
    return ((await scrapeMetrics(brainUrl)).get('mastery_feed_refolds_total') ?? 0) > 0;
  });
}

/**
 * A refused feed read (mastery_feed_failures_total{reason="upstream_refused"}): the Brain's key
 * is taken out of the Logger's keys file, which the Logger reads again on change, until the
 * consumer has been refused; then put back, and the consumer catches up.
 */
async function provokeFeedFailure(loggerUrl, brainUrl, credentials) {
  const api = caller(`Bearer ${credentials.driver}`);
  const keys = credentials.files['learning-events'];
  const refused = 'mastery_feed_failures_total{reason="upstream_refused"}';
  writeKeysFile(
    keys.path,
    keys.entries.filter((entry) => entry.id !== 'concept-mastery'),
  );
  try {
    // The consumer is waiting in a long poll: an event ends it, and the next poll is refused.
    const woken = await api.post(`${loggerUrl}/events`, { user_id: 'student-0', event_type: 'video_watched', concept_id: 'concept-0' });
    if (woken.status !== 201) throw new Error(`POST /events: ${woken.status}`);
    await until("the Logger to refuse the Brain's feed read", async () => ((await scrapeMetrics(brainUrl)).get(refused) ?? 0) > 0);
  } finally {
    writeKeysFile(keys.path, keys.entries);
  }
  await waitForConsumer(loggerUrl, brainUrl, api);
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
    const credentials = createCredentials(workDir);
    const authEnv = (service) => ({ AUTH_MODE: 'required', AUTH_API_KEYS_FILE: credentials.files[service].path });
    const loggerPort = await freePort();
    const loggerUrl = `http://127.0.0.1:${loggerPort}`;
    const logger = await startService('learning-events', loggerPort, workDir, authEnv('learning-events'));
    running.push(logger);
    const targets = { 'learning-events': loggerPort };
    let brainUrl = null;
    if (brainExists) {
      const brainPort = await freePort();
      running.push(
        await startService('concept-mastery', brainPort, workDir, {
          ...authEnv('concept-mastery'),
          LEARNING_EVENTS_URL: loggerUrl,
          LEARNING_EVENTS_API_KEY: credentials.brain,
        }),
      );
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

    const traffic = await driveTraffic(loggerUrl, brainUrl, 12, credentials);
    console.log(
      `traffic: ${Object.entries(traffic.statuses)
        .map(([status, n]) => `${n} x ${status}`)
        .join(', ')}`,
    );
    for (const status of ['401', '403']) {
      if (traffic.statuses[status]) problems.push(`traffic: ${traffic.statuses[status]} authenticated call(s) answered ${status}`);
    }
    problems.push(...traffic.unexpected.map((line) => `traffic, a call that must be refused: ${line}`));
    if (brainUrl) {
      await produceBktData(loggerUrl, brainUrl, credentials);
      await provokeFeedFailure(loggerUrl, brainUrl, credentials);
    }
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
