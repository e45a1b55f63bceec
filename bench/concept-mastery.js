// Benchmarks of the Concept Mastery Service, both services running as child processes:
//   - recompute of a 100,000-event student, end to end (median of several runs);
//   - GET /mastery/{user} throughput and latency at 32 connections;
//   - real-time freshness: from POST /events of a quiz attempt to it being visible in
//     GET /mastery, while a background load ingests 1,000 events/s.
// Usage: node bench/concept-mastery.js [--runs 5] [--duration 10] [--probes 300]
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { median, load } from './stats.js';
import { startService, tempDir } from './processes.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    duration: { type: 'string', default: '10' },
    probes: { type: 'string', default: '300' },
  },
});
const runs = Number(values.runs);
const duration = Number(values.duration);
const probes = Number(values.probes);
const json = { 'content-type': 'application/json' };
const HISTORY = 100_000;
const CONCEPTS = 20;

const historyBatch = (user, offset) =>
  JSON.stringify(
    Array.from({ length: 1000 }, (_, k) => {
      const i = offset + k;
      const concept = `concept-${i % CONCEPTS}`;
      if (i % 4 === 3) return { user_id: user, event_type: 'video_watched', concept_id: concept, event_details: { seconds: 30 } };
      return { user_id: user, event_type: 'quiz_attempt', concept_id: concept, event_details: i % 4 === 2 ? { correct: i % 8 === 2 } : { score: i % 101 } };
    }),
  );

async function ingestHistory(loggerUrl, user, events) {
  for (let offset = 0; offset < events; offset += 1000) {
    const res = await fetch(`${loggerUrl}/events/batch`, { method: 'POST', headers: json, body: historyBatch(user, offset) });
    if (res.status !== 201) throw new Error(`ingest failed: ${res.status} ${await res.text()}`);
  }
}

async function startStack(dir, brainEnv) {
  const logger = await startService('learning-events', { DATABASE_URL: `sqlite:${dir}/events.db` });
  const brain = await startService('concept-mastery', {
    DATABASE_URL: `sqlite:${dir}/mastery.db`,
    LEARNING_EVENTS_URL: logger.url,
    ...brainEnv,
  });
  return { logger, brain, stop: () => Promise.all([brain.stop(), logger.stop()]) };
}

async function recomputeRun(brainUrl, user) {
  const started = performance.now();
  const res = await fetch(`${brainUrl}/mastery/recompute/${user}`, { method: 'POST' });
  const body = await res.json();
  const ms = performance.now() - started;
  if (res.status !== 200 || body.events_processed !== HISTORY) throw new Error(`recompute failed: ${res.status} ${JSON.stringify(body)}`);
  return { wallMs: ms, serverMs: body.duration_ms };
}

/** One probe: log a quiz attempt for a fresh student and poll GET /mastery until it shows. */
async function freshnessProbe(loggerUrl, brainUrl, user) {
  const started = performance.now();
  const res = await fetch(`${loggerUrl}/events`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ user_id: user, event_type: 'quiz_attempt', concept_id: 'probe', event_details: { score: 90 } }),
  });
  if (res.status !== 201) throw new Error(`probe POST failed: ${res.status}`);
  await res.arrayBuffer();
  for (;;) {
    const records = await (await fetch(`${brainUrl}/mastery/${user}`)).json();
    if (records.length > 0 && records[0].total_attempts === 1) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 2));
  }
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const round = (n) => Math.round(n * 100) / 100;

const summary = { machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, runs, duration_s: duration };

// 1 and 2: recompute and reads, without the real-time consumer (so it does not compete).
{
  const dir = tempDir();
  const stack = await startStack(dir.path, { FEED_CONSUMER_ENABLED: 'false' });
  try {
    await ingestHistory(stack.logger.url, 'bench-100k', HISTORY);
    await recomputeRun(stack.brain.url, 'bench-100k'); // warm-up: JIT, page cache; writes the records
    const recomputes = [];
    for (let i = 0; i < runs; i += 1) recomputes.push(await recomputeRun(stack.brain.url, 'bench-100k'));
    summary.recompute_100k_events = {
      events: HISTORY,
      concepts: CONCEPTS,
      median_wall_ms: round(median(recomputes.map((r) => r.wallMs))),
      median_server_ms: round(median(recomputes.map((r) => r.serverMs))),
      runs_wall_ms: recomputes.map((r) => round(r.wallMs)),
    };

    await load({ url: `${stack.brain.url}/mastery/bench-100k`, duration: 2 }); // warm-up
    const reads = [];
    for (let i = 0; i < runs; i += 1) reads.push(await load({ url: `${stack.brain.url}/mastery/bench-100k`, connections: 32, duration }));
    summary.get_mastery_32_connections = {
      records_per_response: CONCEPTS,
      median_requests_per_s: round(median(reads.map((r) => r.requestsPerSecond))),
      median_p50_ms: round(median(reads.map((r) => r.p50Ms))),
      median_p99_ms: round(median(reads.map((r) => r.p99Ms))),
      non_2xx_or_errors: reads.reduce((n, r) => n + r.non2xx + r.errors, 0),
    };
  } finally {
    await stack.stop();
    dir.remove();
  }
}

// 3: freshness under a background ingest of 1,000 events/s (single POST /events, many students).
{
  const dir = tempDir();
  const stack = await startStack(dir.path, {});
  try {
    const background = autocannon({
      url: `${stack.logger.url}/events`,
      method: 'POST',
      headers: json,
      body: JSON.stringify({ user_id: 'load-[<id>]', event_type: 'quiz_attempt', concept_id: 'load', event_details: { score: 70 } }),
      idReplacement: true,
      connections: 16,
      overallRate: 1000,
      duration: 3600,
    });
    await new Promise((r) => setTimeout(r, 2000)); // the load reaches its rate
    const latencies = [];
    for (let i = 0; i < probes; i += 1) {
      latencies.push(await freshnessProbe(stack.logger.url, stack.brain.url, `probe-${i}`));
      await new Promise((r) => setTimeout(r, 20));
    }
    background.stop();
    const result = await background;
    summary.freshness_at_1000_events_per_s = {
      probes,
      background_events_per_s: round(result.requests.average),
      background_non_2xx_or_errors: result.non2xx + result.errors + result.timeouts,
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(percentile(latencies, 99)),
      max_ms: round(Math.max(...latencies)),
    };
  } finally {
    await stack.stop();
    dir.remove();
  }
}

console.log(JSON.stringify(summary, null, 2));
