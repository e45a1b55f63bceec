// Benchmarks of the Concept Mastery Service (the Brain), both services running as child processes:
//   recompute  recompute of a 100,000-event student, end to end, against a plain client streaming
//              the same history from the Logger in one GET, alternating (the issue's reference).
//              Beside it, the same client reading the history the way the Brain reads it (pages of
//              the Brain's page size, following each page's Link rel="next"): the Logger's share of
//              a recompute, so recompute ÷ paged is what the Brain adds on top (got, JSON parsing
//              and validation, the fold, the write).
//   mastery    GET /mastery/{user} throughput and latency at 32 connections;
//   freshness  from POST /events of a quiz attempt to it being visible in GET /mastery, while a
//              background load ingests 1,000 events/s; one run is --probes probes.
//   consumer   the real-time feed consumer catching up, both models on: 200,000 graded quiz attempts
//              stored while no Brain runs, then a Brain on a new database started and timed from
//              listening until its cursor (mastery_feed_cursor_seq) reaches the Logger's head;
//              against a plain client reading the same feed in the consumer's pages, alternating.
// With --postgres:
//   pg-freshness  freshness with both services on the bench's PostgreSQL server (postgres-server.js),
//              each on a database of its own.
//   pg-freshness-2replicas  the same with two Logger replicas on the Logger's database: each probe
//              is posted to one, the Brain reads the feed from the other (whose long polls must be
//              woken by the first one's commits), the background load is split over both.
//   pg-feed-freshness, pg-feed-freshness-2replicas  the Logger's share of those: the same probes
//              and load until a plain long-polling feed reader (no Brain) receives the probe.
// Usage: node bench/concept-mastery.js [--postgres] [--runs 5] [--duration 10] [--probes 300] [--only recompute,mastery,freshness,consumer]
// (--only pg-feed-freshness,pg-feed-freshness-2replicas,pg-freshness,pg-freshness-2replicas with --postgres)
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { loadConfig } from '../services/concept-mastery/dist/src/config.js';
import { alternate, failures, load, median, medianOf, percentile } from './stats.js';
import { Stack, startService, tempDir } from './processes.js';
import { format } from './report.js';
import { BenchFailure, progress, runBench } from './runner.js';
import { countOccurrences, replicaSetups, urlsOf } from './learning-events.js';
import { parseFeedPosition } from '../services/common/dist/index.js';

const TARGET = { recomputeTimes: 1.5 };
const json = { 'content-type': 'application/json' };
const HISTORY = 100_000;
const CONCEPTS = 20;
/** The Brain's page size for history reads: its configuration's default, which the bench leaves as is. */
const PAGE_SIZE = loadConfig({}).LEARNING_EVENTS_PAGE_SIZE;

const historyBatch = (user, offset) =>
  JSON.stringify(
    Array.from({ length: 1000 }, (_, k) => {
      const i = offset + k;
      const concept = `concept-${i % CONCEPTS}`;
      if (i % 4 === 3) return { user_id: user, event_type: 'video_watched', concept_id: concept, event_details: { seconds: 30 } };
      return {
        user_id: user,
        event_type: 'quiz_attempt',
        concept_id: concept,
        event_details: i % 4 === 2 ? { correct: i % 8 === 2 } : { score: i % 101 },
      };
    }),
  );

async function ingestHistory(loggerUrl, user, events) {
  for (let offset = 0; offset < events; offset += 1000) {
    const res = await fetch(`${loggerUrl}/events/batch`, { method: 'POST', headers: json, body: historyBatch(user, offset) });
    if (res.status !== 201) throw new Error(`ingest failed: ${res.status} ${await res.text()}`);
  }
}

/** The services' SQLite files, in a temp dir of the stack. */
function sqliteDatabases(stack) {
  const dir = stack.tempDir();
  return { logger: `sqlite:${dir}/events.db`, brain: `sqlite:${dir}/mastery.db` };
}

/**
 * The Logger, and a Brain reading it, on `databases` ({ logger, brain } DATABASE_URLs); with
 * `loggerReplicas` > 1 (PostgreSQL), that many Logger processes on the Logger's database, and the
 * Brain reads the last of them. Returns { logger (the first), loggers, brain }.
 */
async function startStack(stack, brainEnv, databases = sqliteDatabases(stack), loggerReplicas = 1) {
  const loggers = await stack.replicas('learning-events', loggerReplicas, { DATABASE_URL: databases.logger });
  const brain = await stack.service('concept-mastery', {
    DATABASE_URL: databases.brain,
    LEARNING_EVENTS_URL: loggers.at(-1).url,
    ...brainEnv,
  });
  return { logger: loggers[0], loggers, brain };
}

async function recomputeRun(brainUrl, user) {
  const started = performance.now();
  const res = await fetch(`${brainUrl}/mastery/recompute/${user}`, { method: 'POST' });
  const body = await res.json();
  const ms = performance.now() - started;
  if (res.status !== 200 || body.events_processed !== HISTORY) throw new Error(`recompute failed: ${res.status} ${JSON.stringify(body)}`);
  return { ms, serverMs: body.duration_ms };
}

const nextLink = (header) => /<([^>]*)>\s*;\s*rel="?next"?/.exec(header ?? '')?.[1];

/**
 * A plain client reading a student's whole history from the Logger: with `pageSize`, page after
 * page as the Brain asks for them (one at a time, each read to its last byte before the next);
 * without, one streamed GET. Timed from the first request to the last byte; nothing is parsed.
 */
async function historyReadRun(loggerUrl, user, pageSize) {
  let url = `${loggerUrl}/events/${encodeURIComponent(user)}${pageSize ? `?limit=${pageSize}` : ''}`;
  const bodies = [];
  const started = performance.now();
  while (url !== undefined) {
    const res = await fetch(url);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new BenchFailure(`the plain history client got ${res.status} from ${url}`);
    bodies.push(body);
    const next = pageSize ? nextLink(res.headers.get('link')) : undefined;
    url = next === undefined ? undefined : new URL(next, url).href;
  }
  const ms = performance.now() - started;
  const events = bodies.reduce((n, body) => n + countOccurrences(body, '"seq":'), 0);
  if (events !== HISTORY) throw new BenchFailure(`the plain history client read ${events} events, not ${HISTORY}`);
  return { ms, pages: bodies.length, bytes: bodies.reduce((n, b) => n + b.length, 0) };
}

async function brainGroup({ runs, duration_s: duration }, wanted) {
  const stack = new Stack();
  const rows = [];
  const details = {};
  try {
    // Without the real-time consumer, so it does not compete.
    const { logger, brain } = await startStack(stack, { FEED_CONSUMER_ENABLED: 'false' });
    const user = 'bench-100k';
    await ingestHistory(logger.url, user, HISTORY);
    await recomputeRun(brain.url, user); // warm-up: JIT, page cache; writes the records

    if (wanted.has('recompute')) {
      await historyReadRun(logger.url, user, PAGE_SIZE);
      await historyReadRun(logger.url, user);
      const r = await alternate(
        runs,
        {
          recompute: () => recomputeRun(brain.url, user),
          paged: () => historyReadRun(logger.url, user, PAGE_SIZE),
          stream: () => historyReadRun(logger.url, user),
        },
        (name, result, round) => progress(`  recompute round ${round + 1}: ${name} ${format.ms(result.ms)}`),
      );
      const recompute = {
        median_ms: medianOf(r.recompute, 'ms'),
        median_server_ms: medianOf(r.recompute, 'serverMs'),
        runs_ms: r.recompute.map((x) => x.ms),
      };
      const paged = {
        page_size: PAGE_SIZE,
        pages: r.paged[0].pages,
        bytes: r.paged[0].bytes,
        median_ms: medianOf(r.paged, 'ms'),
        runs_ms: r.paged.map((x) => x.ms),
      };
      const stream = { bytes: r.stream[0].bytes, median_ms: medianOf(r.stream, 'ms'), runs_ms: r.stream.map((x) => x.ms) };
      // The target is set against the Logger streaming the history to a plain client; the paged read,
      // the Logger work a recompute waits for, is shown beside it.
      const ratio = recompute.median_ms / stream.median_ms;
      Object.assign(details, {
        events: HISTORY,
        concepts: CONCEPTS,
        recompute,
        plain_client_paged: paged,
        plain_client_full_stream: stream,
      });
      rows.push({
        figure: `Brain recompute of a ${format.int(HISTORY)}-event student (${CONCEPTS} concepts), end to end (ratio = Brain ÷ plain client)`,
        result: `${format.ms(recompute.median_ms)} (server ${format.ms(recompute.median_server_ms)})`,
        reference: `plain client, the whole history streamed: ${format.ms(stream.median_ms)} (${paged.pages} pages of ${format.int(PAGE_SIZE)}, as the Brain pages: ${format.ms(paged.median_ms)})`,
        ratio: format.times(ratio),
        target: `<= ${TARGET.recomputeTimes}x`,
        met: ratio <= TARGET.recomputeTimes,
        values: { ms: recompute.median_ms, reference_ms: stream.median_ms, paged_ms: paged.median_ms, ratio },
      });
    }

    if (wanted.has('mastery')) {
      const url = `${brain.url}/mastery/${user}`;
      await load({ url, duration: 2 }); // warm-up
      const r = await alternate(runs, { reads: () => load({ url, connections: 32, duration }) }, (name, result, round) =>
        progress(`  mastery round ${round + 1}: ${format.int(result.requestsPerSecond)} req/s, p99 ${result.p99Ms} ms`),
      );
      const reads = {
        records_per_response: CONCEPTS,
        per_s: medianOf(r.reads, 'requestsPerSecond'),
        p50_ms: medianOf(r.reads, 'p50Ms'),
        p99_ms: medianOf(r.reads, 'p99Ms'),
        non_2xx_or_errors: failures(r.reads),
        runs_per_s: r.reads.map((x) => x.requestsPerSecond),
      };
      details.get_mastery_32_connections = reads;
      rows.push({
        figure: `GET /mastery/{user}, 32 connections, ${CONCEPTS} records per answer`,
        result: `${format.int(reads.per_s)} req/s, p50 ${format.ms(reads.p50_ms)}, p99 ${format.ms(reads.p99_ms)}, ${format.int(reads.non_2xx_or_errors)} non-2xx`,
        reference: '-',
        ratio: '-',
        target: 'info',
        met: undefined,
        values: { requests_per_s: reads.per_s, p50_ms: reads.p50_ms, p99_ms: reads.p99_ms, non_2xx: reads.non_2xx_or_errors },
      });
    }
    return { rows, details };
  } finally {
    await stack.close();
  }
}

/** GET /feed after `cursor` (none: from the start), long-polling with `waitMs`. */
const feedPageUrl = (loggerUrl, { cursor, limit, waitMs }) =>
  `${loggerUrl}/feed?${new URLSearchParams({ ...(cursor === undefined ? {} : { cursor }), limit, ...(waitMs ? { wait_ms: waitMs } : {}) })}`;

/** The end of a feed page: its next cursor and the head, the only parts the feed's plain readers take. */
const FEED_PAGE_TAIL = /"next_cursor":"([^"]+)","head_seq":(\d+)\}$/;

/** Logs a quiz attempt for the fresh student `user`. */
async function postProbe(loggerUrl, user) {
  const res = await fetch(`${loggerUrl}/events`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ user_id: user, event_type: 'quiz_attempt', concept_id: 'probe', event_details: { score: 90 } }),
  });
  if (res.status !== 201) throw new Error(`probe POST failed: ${res.status}`);
  await res.arrayBuffer();
}

/** How long a probe may take before the group fails (a consumer that stopped, a feed that skipped it). */
const PROBE_LIMIT_MS = 30_000;

/**
 * One probe: the time from posting a quiz attempt for `user` until `reader.visible(user, posted)`
 * (which resolves with the moment the attempt was seen) says it is there. `visible` is called
 * before the POST leaves, so a reader that is already waiting (the feed tail) sees the attempt
 * however soon. A probe not seen in time fails the group, saying where the reader was.
 */
async function freshnessProbe(loggerUrl, reader, user) {
  const started = performance.now();
  let answered = false;
  const posted = postProbe(loggerUrl, user).then(() => void (answered = true));
  let timer;
  const limit = new Promise((_, fail) => {
    timer = setTimeout(() => {
      const where = `its POST ${answered ? 'answered' : 'not answered yet'}${reader.describe ? `; ${reader.describe()}` : ''}`;
      fail(new BenchFailure(`the probe of ${user} was not seen within ${format.ms(PROBE_LIMIT_MS)} (${where})`));
    }, PROBE_LIMIT_MS);
  });
  try {
    const [seenAt] = await Promise.race([Promise.all([reader.visible(user, posted), posted]), limit]);
    return seenAt - started;
  } finally {
    clearTimeout(timer);
  }
}

/** Once the POST is answered, GET /mastery of the student every 2 ms until its attempt shows. */
const masteryReader = (brainUrl) => ({
  visible: async (user, posted) => {
    await posted;
    for (;;) {
      const records = await (await fetch(`${brainUrl}/mastery/${user}`)).json();
      if (records.length > 0 && records[0].total_attempts === 1) return performance.now();
      await sleep(2);
    }
  },
});

/**
 * A reader tailing the feed of `loggerUrl` from the start: GET /feed with wait_ms (long polling),
 * following next_cursor off each page's tail, nothing parsed. `visible(user)` resolves with the
 * moment the first page holding an event of `user` arrived (watch before the event is posted);
 * describe() says where it is; stop() ends it.
 */
function feedTail(loggerUrl) {
  const watched = new Map();
  const abort = new AbortController();
  let failure;
  let cursor;
  let lastPageAt = performance.now();
  const fail = (err) => {
    failure = err;
    for (const { reject } of watched.values()) reject(err);
    watched.clear();
  };
  const running = (async () => {
    while (!abort.signal.aborted) {
      const url = feedPageUrl(loggerUrl, { cursor, limit: 1000, waitMs: 1000 });
      const res = await fetch(url, { signal: abort.signal });
      const body = Buffer.from(await res.arrayBuffer());
      const arrived = (lastPageAt = performance.now());
      if (res.status !== 200) throw new BenchFailure(`the feed tail got ${res.status} from ${url}`);
      for (const [needle, { resolve }] of watched) {
        if (!body.includes(needle)) continue;
        watched.delete(needle);
        resolve(arrived);
      }
      cursor = FEED_PAGE_TAIL.exec(body.subarray(-128).toString())?.[1];
      if (cursor === undefined) throw new BenchFailure(`the feed tail found no next_cursor at the end of ${url}`);
    }
  })().catch((err) => {
    if (!abort.signal.aborted) fail(err);
  });
  return {
    visible: (user) =>
      failure
        ? Promise.reject(failure)
        : new Promise((resolve, reject) => watched.set(`"user_id":${JSON.stringify(user)}`, { resolve, reject })),
    describe: () => `the feed tail at ${cursor ?? 'the start'}, its last page ${format.ms(performance.now() - lastPageAt)} ago`,
    stop: async () => {
      abort.abort();
      await running;
    },
  };
}

/**
 * Freshness under 1,000 events/s of other traffic: probes posted to the first Logger replica,
 * seen by `reader` on the last: 'mastery' (a Brain reading that replica's feed, polled with GET
 * /mastery) or 'feed' (a long-polling feed reader, no Brain). `databases` and `loggerReplicas` as
 * startStack takes them; `engine` names them in the row (PostgreSQL), if they are not SQLite
 * files. The background load is split over all the replicas.
 */
async function freshnessGroup({ runs, probes }, { databases, engine, loggerReplicas = 1, reader = 'mastery' } = {}) {
  const stack = new Stack();
  let background;
  let tail;
  try {
    let loggers;
    let probeReader;
    if (reader === 'mastery') {
      const started = await startStack(stack, {}, databases, loggerReplicas);
      loggers = started.loggers;
      probeReader = masteryReader(started.brain.url);
    } else {
      loggers = await stack.replicas('learning-events', loggerReplicas, { DATABASE_URL: (databases ?? sqliteDatabases(stack)).logger });
      probeReader = tail = feedTail(loggers.at(-1).url);
    }
    const what = reader === 'mastery' ? 'freshness' : 'feed freshness';
    const replicaUrls = loggers.map((replica) => replica.url);
    background = autocannon({
      url: urlsOf(replicaUrls, '/events'),
      method: 'POST',
      headers: json,
      body: JSON.stringify({ user_id: 'load-[<id>]', event_type: 'quiz_attempt', concept_id: 'load', event_details: { score: 70 } }),
      idReplacement: true,
      connections: 16,
      overallRate: 1000,
      duration: 3600,
    });
    await sleep(2000); // the load reaches its rate
    let probe = 0;
    const r = await alternate(
      runs,
      {
        probes: async () => {
          const latencies = [];
          for (let i = 0; i < probes; i += 1) {
            latencies.push(await freshnessProbe(loggers[0].url, probeReader, `probe-${(probe += 1)}`));
            await sleep(20);
          }
          return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies) };
        },
      },
      (name, result, round) => progress(`  ${what} round ${round + 1}: p50 ${format.ms(result.p50)}, p99 ${format.ms(result.p99)}`),
    );
    background.stop();
    const traffic = await background;
    background = undefined;
    const fresh = {
      probes_per_run: probes,
      p50_ms: median(r.probes.map((x) => x.p50)),
      p99_ms: median(r.probes.map((x) => x.p99)),
      max_ms: Math.max(...r.probes.map((x) => x.max)),
      runs_p99_ms: r.probes.map((x) => x.p99),
      background_events_per_s: traffic.requests.average,
      background_non_2xx_or_errors: traffic.non2xx + traffic.errors + traffic.timeouts,
    };
    const seen = reader === 'mastery' ? 'visible in GET /mastery' : 'received by a long-polling GET /feed reader';
    const readerOnReplica = reader === 'mastery' ? 'the Brain reading the feed from' : 'the reader polling';
    const replicas = loggerReplicas === 1 ? '' : `, ${loggerReplicas} Logger replicas (POST to one, ${readerOnReplica} another)`;
    return {
      rows: [
        {
          figure: `${engine ? `${engine}: ` : ''}${what}: POST /events of a quiz attempt until ${seen}${replicas}, 1,000 events/s of other traffic`,
          result: `p50 ${format.ms(fresh.p50_ms)}, p99 ${format.ms(fresh.p99_ms)}, max ${format.ms(fresh.max_ms)} (${format.int(runs * probes)} probes)`,
          reference: `background ${format.int(fresh.background_events_per_s)} events/s, ${format.int(fresh.background_non_2xx_or_errors)} non-2xx`,
          ratio: '-',
          target: 'info',
          met: undefined,
          values: { logger_replicas: loggerReplicas, p50_ms: fresh.p50_ms, p99_ms: fresh.p99_ms, max_ms: fresh.max_ms },
        },
      ],
      details: { reader, logger_replicas: loggerReplicas, freshness_at_1000_events_per_s: fresh },
    };
  } finally {
    background?.stop();
    await tail?.stop();
    await stack.close();
  }
}

/** A service's /metrics as a map from `name{labels}` (as exposed) to value. */
export async function scrapeMetrics(url) {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}/metrics answered ${res.status}`);
  const values = new Map();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_:][\w:]*(?:\{[^}]*\})?) (\S+)/.exec(line);
    if (match) values.set(match[1], Number(match[2]));
  }
  return values;
}

/** Polls `check` every `everyMs` until it returns something other than undefined; fails after `limitMs`. */
export async function waitFor(what, check, { everyMs = 100, limitMs = 30 * 60_000 } = {}) {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`gave up after ${format.ms(limitMs)} waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The Brain's feed cursor, once it reaches `head`. */
export const caughtUp = (brainUrl, head, everyMs) =>
  waitFor(
    `the Brain's feed cursor to reach ${head}`,
    async () => ((await scrapeMetrics(brainUrl)).get('mastery_feed_cursor_seq') >= head ? true : undefined),
    { everyMs },
  );

/** The Logger's head seq now. */
export async function feedHead(loggerUrl) {
  const res = await fetch(`${loggerUrl}/feed?limit=1`);
  if (res.status !== 200) throw new Error(`GET /feed answered ${res.status}`);
  return (await res.json()).head_seq;
}

/**
 * A plain client reading the whole feed, as the Brain does: GET /feed from the start (no cursor),
 * one page of `pageSize` at a time, each read to its last byte before the next, following
 * next_cursor until a page comes back empty (caught up) or its events end at the head (head_seq
 * of the first page). Only next_cursor and head_seq are taken from each page, off its tail, and
 * whether it holds anything (a "position" in it); nothing is parsed. Counting the events, to check
 * the read, is left out of the time.
 */
export async function feedReadRun(loggerUrl, pageSize, expected) {
  let cursor;
  let head;
  let [pages, bytes, events, countingMs] = [0, 0, 0, 0];
  const started = performance.now();
  for (;;) {
    const url = feedPageUrl(loggerUrl, { cursor, limit: pageSize });
    const res = await fetch(url);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new BenchFailure(`the plain feed client got ${res.status} from ${url}`);
    const tail = FEED_PAGE_TAIL.exec(body.subarray(-128).toString());
    const next = tail && parseFeedPosition(tail[1]);
    if (!next) throw new BenchFailure(`the plain feed client found no next_cursor at the end of ${url}`);
    const counting = performance.now();
    events += countOccurrences(body, '"event_id":');
    countingMs += performance.now() - counting;
    pages += 1;
    bytes += body.length;
    head ??= Number(tail[2]);
    if (body.indexOf('"position":') === -1 || next.seq >= head) break;
    cursor = tail[1];
  }
  const ms = performance.now() - started - countingMs;
  if (events !== expected) throw new BenchFailure(`the plain feed client read ${events} events, not ${expected}`);
  return { ms, pages, bytes, eventsPerSecond: events / (ms / 1000) };
}

const CONSUMER = { students: 2000, concepts: 10, attempts: 10 };
const CONSUMER_EVENTS = CONSUMER.students * CONSUMER.concepts * CONSUMER.attempts;
/** The consumer's page size: its configuration's default, which the bench leaves as is. */
const FEED_PAGE_SIZE = loadConfig({}).FEED_PAGE_SIZE;
const START = Date.UTC(2026, 0, 1);

/**
 * Event i of the consumer's feed: live traffic interleaves students, so each round of attempts
 * goes through every (student, concept) once and a page of the feed touches as many records as it
 * has events. Graded both ways: half { correct }, half { score } (passing at PASS_SCORE). Times
 * rise with i, so nothing is back-dated.
 */
function consumerEvent(i) {
  const key = i % (CONSUMER.students * CONSUMER.concepts);
  return {
    user_id: `consumer-${key % CONSUMER.students}`,
    event_type: 'quiz_attempt',
    concept_id: `concept-${Math.floor(key / CONSUMER.students)}`,
    event_details: i % 2 === 0 ? { correct: (i >> 1) % 3 !== 0 } : { score: (i * 37) % 101 },
    timestamp: new Date(START + i * 1000).toISOString(),
  };
}

async function ingestConsumerEvents(loggerUrl) {
  for (let offset = 0; offset < CONSUMER_EVENTS; offset += 1000) {
    const body = JSON.stringify(Array.from({ length: 1000 }, (_, k) => consumerEvent(offset + k)));
    const res = await fetch(`${loggerUrl}/events/batch`, { method: 'POST', headers: json, body });
    if (res.status !== 201) throw new Error(`ingest failed: ${res.status} ${await res.text()}`);
  }
}

/**
 * One catch-up: a Brain on a new database, consumer on, timed from its "listening" line (the
 * consumer starts right after it) until /metrics shows its cursor at the head. The consumer's own
 * counters must then show every event applied, none refolded, no failure.
 */
async function consumerRun(loggerUrl, head) {
  const dir = tempDir();
  let brain;
  try {
    const spawned = performance.now();
    brain = await startService('concept-mastery', { DATABASE_URL: `sqlite:${dir.path}/mastery.db`, LEARNING_EVENTS_URL: loggerUrl });
    const started = performance.now();
    await caughtUp(brain.url, head, 50);
    const ms = performance.now() - started;
    const metrics = await scrapeMetrics(brain.url);
    const applied = metrics.get('mastery_feed_events_total{outcome="applied"}');
    const refolds = metrics.get('mastery_feed_refolds_total');
    const failed = [...metrics].filter(([name]) => name.startsWith('mastery_feed_failures_total')).reduce((n, [, v]) => n + v, 0);
    if (applied !== CONSUMER_EVENTS || refolds !== 0 || failed !== 0) {
      throw new Error(`the consumer applied ${applied} of ${CONSUMER_EVENTS} events, with ${refolds} refolds and ${failed} failures`);
    }
    return { ms, bootMs: started - spawned, eventsPerSecond: CONSUMER_EVENTS / (ms / 1000) };
  } finally {
    await brain?.stop();
    dir.remove();
  }
}

async function consumerGroup({ runs }) {
  const stack = new Stack();
  try {
    const logger = await stack.service('learning-events', { DATABASE_URL: `sqlite:${stack.tempDir()}/events.db` });
    const ingestStarted = performance.now();
    await ingestConsumerEvents(logger.url);
    const ingestMs = performance.now() - ingestStarted;
    const head = await feedHead(logger.url);
    progress(`  consumer: ${format.int(CONSUMER_EVENTS)} events stored in ${format.ms(ingestMs)}; head ${head}`);
    await feedReadRun(logger.url, FEED_PAGE_SIZE, CONSUMER_EVENTS); // warm-up: JIT, page cache
    const r = await alternate(
      runs,
      {
        consumer: () => consumerRun(logger.url, head),
        plain: () => feedReadRun(logger.url, FEED_PAGE_SIZE, CONSUMER_EVENTS),
      },
      (name, result, round) =>
        progress(`  consumer round ${round + 1}: ${name} ${format.int(result.eventsPerSecond)} events/s (${format.ms(result.ms)})`),
    );
    const consumer = {
      events_per_s: medianOf(r.consumer, 'eventsPerSecond'),
      median_ms: medianOf(r.consumer, 'ms'),
      median_boot_ms: medianOf(r.consumer, 'bootMs'),
      runs_events_per_s: r.consumer.map((x) => x.eventsPerSecond),
    };
    const plain = {
      page_size: FEED_PAGE_SIZE,
      pages: r.plain[0].pages,
      bytes: r.plain[0].bytes,
      events_per_s: medianOf(r.plain, 'eventsPerSecond'),
      median_ms: medianOf(r.plain, 'ms'),
      runs_events_per_s: r.plain.map((x) => x.eventsPerSecond),
    };
    const ratio = consumer.events_per_s / plain.events_per_s;
    return {
      rows: [
        {
          figure: `Brain feed consumer, both models, catching up on ${format.int(CONSUMER_EVENTS)} stored quiz attempts (${format.int(CONSUMER.students)} students x ${CONSUMER.concepts} concepts x ${CONSUMER.attempts}), new database (ratio = consumer ÷ plain client)`,
          result: `${format.int(consumer.events_per_s)} events/s (${format.ms(consumer.median_ms)})`,
          reference: `plain client, the feed in pages of ${format.int(FEED_PAGE_SIZE)}: ${format.int(plain.events_per_s)} events/s (${format.ms(plain.median_ms)})`,
          ratio: format.percent(ratio),
          target: 'info',
          met: undefined,
          values: { events_per_s: consumer.events_per_s, ms: consumer.median_ms, reference_events_per_s: plain.events_per_s, ratio },
        },
      ],
      details: {
        consumer_catch_up: {
          events: CONSUMER_EVENTS,
          ...CONSUMER,
          feed_page_size: FEED_PAGE_SIZE,
          ingest_ms: ingestMs,
          consumer,
          plain_client_feed: plain,
        },
      },
    };
  } finally {
    await stack.close();
  }
}

export const brainGroups = [
  { names: ['recompute', 'mastery'], run: brainGroup },
  { names: ['freshness'], run: (settings) => freshnessGroup(settings) },
  ...['feed', 'mastery'].flatMap((reader) =>
    replicaSetups(reader === 'feed' ? 'pg-feed-freshness' : 'pg-freshness').map(({ name, replicas }) => ({
      names: [name],
      engine: 'postgres',
      run: async (settings, _wanted, { postgres }) => {
        const database = (service) => postgres.createDatabase(`${name.replace(/-/g, '_')}_${service}`);
        const databases = { logger: await database('logger'), brain: reader === 'mastery' ? await database('brain') : undefined };
        return freshnessGroup(settings, { databases, engine: 'PostgreSQL', loggerReplicas: replicas, reader });
      },
    })),
  ),
  { names: ['consumer'], run: consumerGroup },
];

if (process.argv[1] === fileURLToPath(import.meta.url)) await runBench(brainGroups);
