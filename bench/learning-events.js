// Benchmarks of the Learning Events Service, in one run:
//   single-event POST /events at 32 connections (a new student per request, as a school's traffic
//   looks, and one student for every request), POST /events/batch of 1,000 events, and
//   GET /events/{user} of a 100,000-event history (time and server memory).
// Beside the POSTs, three references on the same machine: the ceiling (a bare Node http echo), the
// framework floor (the same echo through koa, @koa/router and koa-bodyparser) and the storage
// floor (SQLite alone storing the same events, see storage-floor.js).
// Usage: node bench/learning-events.js [--runs 5] [--duration 10]
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { median, load } from './stats.js';
import { randomUUID } from 'node:crypto';
import { residentMiB, startEchoServer, startService, tempDir } from './processes.js';
import { eventValues, storageFloor } from './storage-floor.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, duration: { type: 'string', default: '10' } },
});
const runs = Number(values.runs);
const duration = Number(values.duration);

const singleEventOf = (user) => ({ user_id: user, event_type: 'quiz_attempt', concept_id: 'fractions', event_details: { score: 72 } });
const singleEvent = (user) => JSON.stringify(singleEventOf(user));
const batchEventOf = (i, user) => ({
  user_id: user,
  event_type: i % 3 === 0 ? 'video_watched' : 'quiz_attempt',
  concept_id: `concept-${i % 20}`,
  event_details: i % 3 === 0 ? { seconds: 30 } : { score: i % 101 },
});
const batchOf = (n, user) => JSON.stringify(Array.from({ length: n }, (_, i) => batchEventOf(i, user)));
const json = { 'content-type': 'application/json' };

/** `student` with `[<id>]` in it gets a random id per request: index inserts land all over. */
async function singleEventRun(url, student = 'bench-[<id>]') {
  return load({
    url: `${url}/events`,
    method: 'POST',
    headers: json,
    body: singleEvent(student),
    idReplacement: true,
    connections: 32,
    duration,
  });
}

async function batchRun(url, body) {
  const result = await load({ url: `${url}/events/batch`, method: 'POST', headers: json, body, connections: 4, duration });
  return { ...result, eventsPerSecond: result.requestsPerSecond * 1000 };
}

async function ingestHistory(url, user, events) {
  const body = batchOf(1000, user);
  for (let i = 0; i < events / 1000; i += 1) {
    const res = await fetch(`${url}/events/batch`, { method: 'POST', headers: json, body });
    if (res.status !== 201) throw new Error(`ingest failed: ${res.status}`);
  }
}

/** Times one full-history GET (request to last byte) and samples the server's resident memory meanwhile. */
async function timelineRun(service, user) {
  const before = residentMiB(service.pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, residentMiB(service.pid))), 5);
  const started = performance.now();
  const res = await fetch(`${service.url}/events/${user}`);
  const body = await res.text();
  const seconds = (performance.now() - started) / 1000; // to the last byte; parsing is the client's business
  const events = body.split('"seq":').length - 1;
  clearInterval(sampler);
  return { seconds, events, rssGrowthMiB: peak - before };
}

const dir = tempDir();
const logger = await startService('learning-events', { DATABASE_URL: `sqlite:${dir.path}/bench.db` });
const echo = await startEchoServer();
const koaEcho = await startEchoServer('koa-echo-server.js');
try {
  // Warm both up (JIT, SQLite page cache) before measuring.
  await load({ url: `${logger.url}/events`, method: 'POST', headers: json, body: singleEvent('warm'), duration: 2 });
  await load({ url: `${echo.url}/events`, method: 'POST', headers: json, body: singleEvent('warm'), duration: 2 });
  await load({ url: `${koaEcho.url}/events`, method: 'POST', headers: json, body: singleEvent('warm'), duration: 2 });

  const single = { logger: [], ceiling: [], framework: [], oneStudent: [], storage: [] };
  for (let i = 0; i < runs; i += 1) {
    single.ceiling.push(await singleEventRun(echo.url));
    single.framework.push(await singleEventRun(koaEcho.url));
    // The best case for 32 connections: all 32 waiting events in one commit, each a new student.
    single.storage.push(
      await storageFloor({
        eventsPerCommit: 32,
        seconds: duration,
        eventOf: (_, now) => eventValues(singleEventOf(`bench-${randomUUID()}`), now),
      }),
    );
    single.logger.push(await singleEventRun(logger.url));
    single.oneStudent.push(await singleEventRun(logger.url, 'bench-one-student'));
  }

  const batchBody = batchOf(1000, 'bench-batch');
  const batch = { logger: [], ceiling: [], framework: [], storage: [] };
  for (let i = 0; i < runs; i += 1) {
    batch.ceiling.push(await batchRun(echo.url, batchBody));
    batch.framework.push(await batchRun(koaEcho.url, batchBody));
    batch.storage.push(
      await storageFloor({ eventsPerCommit: 1000, seconds: duration, eventOf: (i, now) => eventValues(batchEventOf(i, 'bench-batch'), now) }),
    );
    batch.logger.push(await batchRun(logger.url, batchBody));
  }

  await ingestHistory(logger.url, 'history-10k', 10_000);
  await ingestHistory(logger.url, 'history-100k', 100_000);
  const timeline = { '10k': [], '100k': [] };
  for (let i = 0; i < runs; i += 1) {
    timeline['10k'].push(await timelineRun(logger, 'history-10k'));
    timeline['100k'].push(await timelineRun(logger, 'history-100k'));
  }

  const references = { ceiling: [...single.ceiling, ...batch.ceiling], framework: [...single.framework, ...batch.framework] };
  for (const [name, results] of Object.entries(references)) {
    if (results.some((r) => r.non2xx + r.errors > 0)) throw new Error(`the ${name} reference answered with errors`);
  }
  const med = (list, key) => Math.round(median(list.map((r) => r[key])) * 100) / 100;
  const summary = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    runs,
    duration_s: duration,
    single_post_32_connections: {
      logger_events_per_s: med(single.logger, 'requestsPerSecond'),
      logger_p50_ms: med(single.logger, 'p50Ms'),
      logger_p99_ms: med(single.logger, 'p99Ms'),
      ceiling_requests_per_s: med(single.ceiling, 'requestsPerSecond'),
      ceiling_p99_ms: med(single.ceiling, 'p99Ms'),
      framework_floor_requests_per_s: med(single.framework, 'requestsPerSecond'),
      storage_floor_events_per_s: Math.round(median(single.storage)),
      share_of_ceiling: Math.round((median(single.logger.map((r) => r.requestsPerSecond)) / median(single.ceiling.map((r) => r.requestsPerSecond))) * 1000) / 10 + ' %',
      logger_non_2xx: single.logger.reduce((n, r) => n + r.non2xx + r.errors, 0),
      one_student_events_per_s: med(single.oneStudent, 'requestsPerSecond'),
      one_student_p99_ms: med(single.oneStudent, 'p99Ms'),
      one_student_non_2xx: single.oneStudent.reduce((n, r) => n + r.non2xx + r.errors, 0),
    },
    batch_post_1000_events_4_connections: {
      logger_events_per_s: med(batch.logger, 'eventsPerSecond'),
      logger_p99_ms: med(batch.logger, 'p99Ms'),
      ceiling_events_per_s: med(batch.ceiling, 'eventsPerSecond'),
      framework_floor_events_per_s: med(batch.framework, 'eventsPerSecond'),
      storage_floor_events_per_s: Math.round(median(batch.storage)),
      logger_non_2xx: batch.logger.reduce((n, r) => n + r.non2xx + r.errors, 0),
    },
    get_full_timeline: {
      events_100k: timeline['100k'][0].events,
      seconds_100k: med(timeline['100k'], 'seconds'),
      server_rss_growth_mib_100k: med(timeline['100k'], 'rssGrowthMiB'),
      seconds_10k: med(timeline['10k'], 'seconds'),
      server_rss_growth_mib_10k: med(timeline['10k'], 'rssGrowthMiB'),
    },
  };
  console.log(JSON.stringify(summary, null, 2));
} finally {
  await logger.stop();
  await echo.stop();
  await koaEcho.stop();
  dir.remove();
}
