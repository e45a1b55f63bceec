// Benchmarks of the Learning Events Service (the Logger), each beside a reference measured in the
// same rounds, alternating (see stats.js `alternate`):
//   single    POST /events at 32 connections, a different student per request (as a school's
//             traffic looks), against the framework floor (koa echo, koa-echo-server.js) and the
//             storage floor (SQLite alone, 32 events a commit, storage-floor.js); beside it, for
//             information, the bare-http ceiling (echo-server.js) and one student for every request;
//   tracing   the same load against a second Logger started with OTEL_SDK_DISABLED=true;
//   batch     POST /events/batch of 1,000 events at 4 connections, against the storage floor for
//             1,000-event commits;
//   timeline  GET /events/{user} of a 100,000-event student (and of a 10,000-event one), request to
//             last byte, against the read floor (read-floor.js), and the server's memory meanwhile;
//   contention  POST /events and GET /health at a fixed rate while 4 clients read the 100,000-event
//             timeline over and over (timeline-readers.js), against the same rates with no reader.
// With --postgres, on the bench's PostgreSQL server (postgres-server.js), a database per Logger:
//   pg-single  the `single` load against one Logger replica, beside the PostgreSQL storage floor
//             for 32-event commits (storage-floor.js pgStorageFloor);
//   pg-single-2replicas  the same load split over two Logger replicas (two processes) on one
//             database, 16 connections each, beside the same floor; run with pg-single, the three
//             alternate in the same rounds and a row gives 2 replicas ÷ 1;
//   pg-batch, pg-batch-2replicas  the `batch` load on one replica and split over two (2
//             connections each), beside the PostgreSQL storage floor for 1,000-event commits.
// Usage: node bench/learning-events.js [--postgres] [--runs 5] [--duration 10] [--only single,tracing,batch,timeline,contention]
// (--only pg-single,pg-single-2replicas,pg-batch,pg-batch-2replicas with --postgres; after npm run
// build); `npm run bench` runs these with the Brain's.
import { createHash, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { alternate, failures, load, median, medianOf } from './stats.js';
import { Stack, residentMiB } from './processes.js';
import { eventValues, pgStorageFloor, storageFloor } from './storage-floor.js';
import { format } from './report.js';
import { BenchFailure, assertReferenceClean, progress, runBench } from './runner.js';

const TARGET = {
  single: { share: 0.5, p99Ms: 25 },
  batch: { share: 0.75 },
  timeline: { share: 0.5, rssGrowthMiB: 16 },
  contention: { p99Ratio: 2 },
};

const json = { 'content-type': 'application/json' };
const singleEventOf = (user) => ({ user_id: user, event_type: 'quiz_attempt', concept_id: 'fractions', event_details: { score: 72 } });
const batchEventOf = (i, user) => ({
  user_id: user,
  event_type: i % 3 === 0 ? 'video_watched' : 'quiz_attempt',
  concept_id: `concept-${i % 20}`,
  event_details: i % 3 === 0 ? { seconds: 30 } : { score: i % 101 },
});
const batchOf = (n, user) => JSON.stringify(Array.from({ length: n }, (_, i) => batchEventOf(i, user)));

/**
 * `path` on each of `servers` (one base URL, or several: a service's replicas). Given several
 * URLs, autocannon gives each connection the next of them in turn, so the load is split evenly.
 */
export const urlsOf = (servers, path) => [servers].flat().map((server) => `${server}${path}`);

/** `student` with `[<id>]` in it gets a new id per request: index inserts land all over. */
function singleEventRun(servers, duration, student = 'bench-[<id>]') {
  return load({
    url: urlsOf(servers, '/events'),
    method: 'POST',
    headers: json,
    body: JSON.stringify(singleEventOf(student)),
    idReplacement: true,
    connections: 32,
    duration,
  });
}

async function batchRun(servers, body, duration) {
  const result = await load({ url: urlsOf(servers, '/events/batch'), method: 'POST', headers: json, body, connections: 4, duration });
  return { ...result, eventsPerSecond: result.requestsPerSecond * 1000 };
}

export async function ingestHistory(url, user, events) {
  const body = batchOf(1000, user);
  for (let i = 0; i < events / 1000; i += 1) {
    const res = await fetch(`${url}/events/batch`, { method: 'POST', headers: json, body });
    if (res.status !== 201) throw new Error(`ingest failed: ${res.status} ${await res.text()}`);
  }
}

/** Median throughput, latency and the failure count of a list of load runs. */
const loadSummary = (results, throughputKey = 'requestsPerSecond') => ({
  per_s: medianOf(results, throughputKey),
  p50_ms: medianOf(results, 'p50Ms'),
  p99_ms: medianOf(results, 'p99Ms'),
  non_2xx_or_errors: failures(results),
  runs_per_s: results.map((r) => r[throughputKey]),
});

const loadResult = (s, unit = 'events/s') =>
  `${format.int(s.per_s)} ${unit}, p99 ${format.ms(s.p99_ms)}, ${format.int(s.non_2xx_or_errors)} non-2xx`;

const onRun = (group) => (name, result, round) => {
  const figure = result.eventsPerSecond ?? result.requestsPerSecond ?? result.ms;
  progress(`  ${group} round ${round + 1}: ${name} ${format.int(figure)}${result.p99Ms !== undefined ? `, p99 ${result.p99Ms} ms` : ''}`);
};

async function singleEventGroup({ runs, duration_s: duration }, wanted) {
  const stack = new Stack();
  try {
    const database = (name) => ({ DATABASE_URL: `sqlite:${stack.tempDir()}/${name}.db` });
    const logger = await stack.service('learning-events', database('logger'));
    const contenders = { logger: () => singleEventRun(logger.url, duration) };
    const warmUps = [() => singleEventRun(logger.url, 2)];
    if (wanted.has('tracing')) {
      const untraced = await stack.service('learning-events', { ...database('untraced'), OTEL_SDK_DISABLED: 'true' });
      contenders.untraced = () => singleEventRun(untraced.url, duration);
      warmUps.push(() => singleEventRun(untraced.url, 2));
    }
    if (wanted.has('single')) {
      const koaEcho = await stack.benchServer('koa-echo-server.js');
      const echo = await stack.benchServer('echo-server.js');
      // Its own Logger, so the default Logger and the untraced one meet databases of the same size.
      const oneStudent = await stack.service('learning-events', database('one-student'));
      warmUps.push(
        () => singleEventRun(koaEcho.url, 2),
        () => singleEventRun(echo.url, 2),
        () => singleEventRun(oneStudent.url, 2, 'bench-one-student'),
      );
      contenders.framework = () => singleEventRun(koaEcho.url, duration);
      // The best case for 32 connections: all 32 waiting events in one commit, each a new student.
      contenders.storage = async () => ({
        eventsPerSecond: await storageFloor({
          eventsPerCommit: 32,
          seconds: duration,
          eventOf: (_, now) => eventValues(singleEventOf(`bench-${randomUUID()}`), now),
        }),
      });
      contenders.ceiling = () => singleEventRun(echo.url, duration);
      contenders.oneStudent = () => singleEventRun(oneStudent.url, duration, 'bench-one-student');
    }
    for (const warmUp of warmUps) await warmUp(); // JIT, SQLite page cache
    const r = await alternate(runs, contenders, onRun('single-event'));

    const rows = [];
    const details = {};
    const main = loadSummary(r.logger);
    details.logger = main;
    if (wanted.has('single')) {
      assertReferenceClean('framework floor (koa echo)', r.framework);
      assertReferenceClean('bare-http ceiling', r.ceiling);
      const framework = loadSummary(r.framework);
      const ceiling = loadSummary(r.ceiling);
      const storage = { per_s: medianOf(r.storage, 'eventsPerSecond'), runs_per_s: r.storage.map((s) => s.eventsPerSecond) };
      const oneStudent = loadSummary(r.oneStudent);
      const floor = Math.min(framework.per_s, storage.per_s);
      const share = main.per_s / floor;
      Object.assign(details, { framework_floor: framework, storage_floor_32_per_commit: storage, ceiling, one_student: oneStudent });
      rows.push(
        {
          figure: 'POST /events, 32 connections, a different student per request',
          result: loadResult(main),
          reference: `min(framework floor ${format.int(framework.per_s)} req/s, storage floor ${format.int(storage.per_s)} events/s)`,
          ratio: format.percent(share),
          target: `>= ${TARGET.single.share * 100} %, p99 <= ${TARGET.single.p99Ms} ms`,
          met: share >= TARGET.single.share && main.p99_ms <= TARGET.single.p99Ms && main.non_2xx_or_errors === 0,
          values: {
            events_per_s: main.per_s,
            p50_ms: main.p50_ms,
            p99_ms: main.p99_ms,
            non_2xx: main.non_2xx_or_errors,
            reference_per_s: floor,
            ratio: share,
          },
        },
        {
          figure: '  ceiling: bare node:http echo, same load (ratio = Logger ÷ ceiling)',
          result: loadResult(ceiling, 'req/s'),
          reference: `Logger ${format.int(main.per_s)} events/s`,
          ratio: format.percent(main.per_s / ceiling.per_s),
          target: 'info',
          met: undefined,
          values: { requests_per_s: ceiling.per_s, p99_ms: ceiling.p99_ms, ratio: main.per_s / ceiling.per_s },
        },
        {
          figure: 'POST /events, 32 connections, one student for every request (ratio = one ÷ different students)',
          result: loadResult(oneStudent),
          reference: `a different student per request: ${format.int(main.per_s)} events/s`,
          ratio: format.percent(oneStudent.per_s / main.per_s),
          target: 'info',
          met: undefined,
          values: {
            events_per_s: oneStudent.per_s,
            p99_ms: oneStudent.p99_ms,
            non_2xx: oneStudent.non_2xx_or_errors,
            ratio: oneStudent.per_s / main.per_s,
          },
        },
      );
    }
    if (wanted.has('tracing')) {
      const untraced = loadSummary(r.untraced);
      details.otel_sdk_disabled = untraced;
      const ratio = main.per_s / untraced.per_s;
      rows.push({
        figure: 'tracing cost: the same POST /events load, default vs OTEL_SDK_DISABLED=true (ratio = default ÷ disabled)',
        result: `default ${loadResult(main)}`,
        reference: `disabled ${loadResult(untraced)}`,
        ratio: format.percent(ratio),
        target: 'info',
        met: undefined,
        values: {
          default_events_per_s: main.per_s,
          disabled_events_per_s: untraced.per_s,
          default_p99_ms: main.p99_ms,
          disabled_p99_ms: untraced.p99_ms,
          // Wall time per event at the measured throughput; the difference is what tracing adds to the
          // serial part of a request.
          us_per_event_default: 1e6 / main.per_s,
          us_per_event_disabled: 1e6 / untraced.per_s,
          ratio,
        },
      });
    }
    return { rows, details };
  } finally {
    await stack.close();
  }
}

/** The batch row: the Logger's load summary against a storage floor's 1,000-event commits. */
function batchRow(figure, floorName, main, storage) {
  const share = main.per_s / storage.per_s;
  return {
    figure,
    result: loadResult(main),
    reference: `${floorName}, 1,000-event commits: ${format.int(storage.per_s)} events/s`,
    ratio: format.percent(share),
    target: `>= ${TARGET.batch.share * 100} %`,
    met: share >= TARGET.batch.share && main.non_2xx_or_errors === 0,
    values: {
      events_per_s: main.per_s,
      p99_ms: main.p99_ms,
      non_2xx: main.non_2xx_or_errors,
      reference_per_s: storage.per_s,
      ratio: share,
    },
  };
}

async function batchGroup({ runs, duration_s: duration }) {
  const stack = new Stack();
  try {
    const logger = await stack.service('learning-events', { DATABASE_URL: `sqlite:${stack.tempDir()}/logger.db` });
    const body = batchOf(1000, 'bench-batch');
    await batchRun(logger.url, body, 2); // warm-up
    const r = await alternate(
      runs,
      {
        logger: () => batchRun(logger.url, body, duration),
        storage: async () => ({
          eventsPerSecond: await storageFloor({
            eventsPerCommit: 1000,
            seconds: duration,
            eventOf: (i, now) => eventValues(batchEventOf(i, 'bench-batch'), now),
          }),
        }),
      },
      onRun('batch'),
    );
    const main = loadSummary(r.logger, 'eventsPerSecond');
    const storage = { per_s: medianOf(r.storage, 'eventsPerSecond'), runs_per_s: r.storage.map((s) => s.eventsPerSecond) };
    return {
      rows: [batchRow('POST /events/batch of 1,000 events, 4 connections', 'storage floor', main, storage)],
      details: { logger: main, storage_floor_1000_per_commit: storage },
    };
  } finally {
    await stack.close();
  }
}

/**
 * The Logger setups of a PostgreSQL group, by the name --only selects them with: one replica, and
 * two replicas (two processes) on one database.
 */
export const replicaSetups = (group) => [
  { name: group, replicas: 1 },
  { name: `${group}-2replicas`, replicas: 2 },
];

const replicasText = (replicas, connections) =>
  replicas === 1 ? '1 Logger replica' : `${replicas} Logger replicas on one database, ${connections / replicas} connections each`;

/**
 * A PostgreSQL ingest group: each wanted setup's Logger replicas on a database of their own, the
 * load spread over them (autocannon gives each connection the next replica in turn), against the
 * PostgreSQL storage floor for commits of `eventsPerCommit`, alternating in the same rounds; every
 * run starts after a CHECKPOINT, so that none inherits another's dirty pages and WAL (nor a
 * checkpoint started by them). `loggerRun(urls, seconds)` is one load run over the replicas' URLs;
 * `rowOf(replicas, summary, storage)` is a setup's row. With both setups, an info row gives
 * 2 replicas ÷ 1.
 */
async function pgIngestGroup({ runs, duration_s: duration }, wanted, postgres, spec) {
  const { group, database, loggerRun, throughputKey, eventsPerCommit, eventOf, rowOf } = spec;
  const stack = new Stack();
  try {
    const afterCheckpoint = (run) => async () => {
      await postgres.checkpoint();
      return run();
    };
    const setups = replicaSetups(group).filter((setup) => wanted.has(setup.name));
    const contenders = {};
    for (const { name, replicas } of setups) {
      const url = await postgres.createDatabase(replicas === 1 ? database : `${database}_${replicas}_replicas`);
      const urls = (await stack.replicas('learning-events', replicas, { DATABASE_URL: url })).map((logger) => logger.url);
      await loggerRun(urls, 2); // JIT, the server's caches
      contenders[name] = afterCheckpoint(() => loggerRun(urls, duration));
    }
    contenders.storage = afterCheckpoint(async () => ({
      eventsPerSecond: await pgStorageFloor({ postgres, eventsPerCommit, seconds: duration, eventOf }),
    }));
    const r = await alternate(runs, contenders, onRun(group));

    const storage = { per_s: medianOf(r.storage, 'eventsPerSecond'), runs_per_s: r.storage.map((s) => s.eventsPerSecond) };
    const details = { [`storage_floor_${eventsPerCommit}_per_commit`]: storage };
    const rows = [];
    for (const { name, replicas } of setups) {
      const main = loadSummary(r[name], throughputKey);
      details[name] = { logger_replicas: replicas, ...main };
      rows.push(rowOf(replicas, main, storage));
    }
    if (setups.length === 2) {
      const [one, two] = setups.map((setup) => details[setup.name]);
      const ratio = two.per_s / one.per_s;
      rows.push({
        figure: '  2 Logger replicas ÷ 1 replica, the same load and rounds',
        result: loadResult(two),
        reference: `1 Logger replica: ${format.int(one.per_s)} events/s`,
        ratio: format.percent(ratio),
        target: 'info',
        met: undefined,
        values: { events_per_s: two.per_s, reference_per_s: one.per_s, ratio },
      });
    }
    return { rows, details };
  } finally {
    await stack.close();
  }
}

const pgSingleEventGroup = (settings, wanted, { postgres }) =>
  pgIngestGroup(settings, wanted, postgres, {
    group: 'pg-single',
    database: 'logger_single',
    loggerRun: singleEventRun,
    throughputKey: 'requestsPerSecond',
    // The best case for 32 connections, as in `single`: all 32 waiting events in one commit.
    eventsPerCommit: 32,
    eventOf: (_, now) => eventValues(singleEventOf(`bench-${randomUUID()}`), now),
    rowOf: (replicas, main, storage) => {
      const share = main.per_s / storage.per_s;
      return {
        figure: `PostgreSQL: POST /events, 32 connections, a different student per request, ${replicasText(replicas, 32)}`,
        result: loadResult(main),
        reference: `PostgreSQL storage floor, 32-event commits: ${format.int(storage.per_s)} events/s`,
        ratio: format.percent(share),
        target: `>= ${TARGET.single.share * 100} %, p99 <= ${TARGET.single.p99Ms} ms`,
        met: share >= TARGET.single.share && main.p99_ms <= TARGET.single.p99Ms && main.non_2xx_or_errors === 0,
        values: {
          logger_replicas: replicas,
          events_per_s: main.per_s,
          p50_ms: main.p50_ms,
          p99_ms: main.p99_ms,
          non_2xx: main.non_2xx_or_errors,
          reference_per_s: storage.per_s,
          ratio: share,
        },
      };
    },
  });

const pgBatchGroup = (settings, wanted, { postgres }) => {
  const body = batchOf(1000, 'bench-batch');
  return pgIngestGroup(settings, wanted, postgres, {
    group: 'pg-batch',
    database: 'logger_batch',
    loggerRun: (urls, seconds) => batchRun(urls, body, seconds),
    throughputKey: 'eventsPerSecond',
    eventsPerCommit: 1000,
    eventOf: (i, now) => eventValues(batchEventOf(i, 'bench-batch'), now),
    rowOf: (replicas, main, storage) => {
      const figure = `PostgreSQL: POST /events/batch of 1,000 events, 4 connections, ${replicasText(replicas, 4)}`;
      const row = batchRow(figure, 'PostgreSQL storage floor', main, storage);
      return { ...row, values: { logger_replicas: replicas, ...row.values } };
    },
  });
};

/**
 * One full-timeline GET, timed from the request to the last byte (parsing is the client's
 * business), while the server's resident memory is sampled every 5 ms.
 */
async function timelineRun(server, user) {
  const before = residentMiB(server.pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, residentMiB(server.pid))), 5);
  const started = performance.now();
  const res = await fetch(`${server.url}/events/${encodeURIComponent(user)}`);
  const body = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - started;
  clearInterval(sampler);
  peak = Math.max(peak, residentMiB(server.pid));
  return {
    ms,
    status: res.status,
    bytes: body.length,
    events: countOccurrences(body, '"seq":'),
    sha256: createHash('sha256').update(body).digest('hex'),
    rssBeforeMiB: before,
    rssGrowthMiB: peak - before,
  };
}

export function countOccurrences(buffer, text) {
  let count = 0;
  for (let at = buffer.indexOf(text); at !== -1; at = buffer.indexOf(text, at + text.length)) count += 1;
  return count;
}

async function timelineGroup({ runs }) {
  const HISTORIES = { '100k': 100_000, '10k': 10_000 };
  const stack = new Stack();
  try {
    const file = `${stack.tempDir()}/logger.db`;
    const logger = await stack.service('learning-events', { DATABASE_URL: `sqlite:${file}` });
    for (const [name, events] of Object.entries(HISTORIES)) await ingestHistory(logger.url, `history-${name}`, events);
    const floor = await stack.benchServer('read-floor.js', { SOURCE_DATABASE: file });
    progress(`  read floor: ${floor.info.events} events copied; plan: ${floor.info.plan}`);

    // Warm-up, and what every answer must be: the Logger's, event for event and byte for byte.
    const expected = {};
    for (const [name, events] of Object.entries(HISTORIES)) {
      const answer = await timelineRun(logger, `history-${name}`);
      if (answer.status !== 200 || answer.events !== events) {
        throw new BenchFailure(`the Logger's timeline of history-${name} answered ${answer.status} with ${answer.events} events`);
      }
      expected[name] = answer;
      await timelineRun(floor, `history-${name}`);
    }
    const checked = (server, name, role) => async () => {
      const run = await timelineRun(server, `history-${name}`);
      if (run.status !== 200 || run.sha256 !== expected[name].sha256) {
        const what = `answered ${run.status} with ${run.events} events, ${run.bytes} bytes (the Logger's first answer: ${expected[name].events} events, ${expected[name].bytes} bytes)`;
        throw new BenchFailure(role === 'floor' ? `the read floor ${what}` : `the Logger's timeline changed between runs: it ${what}`);
      }
      return run;
    };
    const contenders = {};
    for (const name of Object.keys(HISTORIES)) {
      contenders[`logger${name}`] = checked(logger, name, 'logger');
      contenders[`floor${name}`] = checked(floor, name, 'floor');
    }
    const r = await alternate(runs, contenders, onRun('timeline'));

    const summary = (results) => ({
      median_ms: medianOf(results, 'ms'),
      median_rss_growth_mib: medianOf(results, 'rssGrowthMiB'),
      runs_ms: results.map((x) => x.ms),
      runs_rss_growth_mib: results.map((x) => x.rssGrowthMiB),
      rss_before_mib: median(results.map((x) => x.rssBeforeMiB)),
    });
    const details = { read_floor: { sql: floor.info.sql, plan: floor.info.plan } };
    const rows = Object.entries(HISTORIES).map(([name, events]) => {
      const main = summary(r[`logger${name}`]);
      const ref = summary(r[`floor${name}`]);
      const share = ref.median_ms / main.median_ms;
      details[`events_${name}`] = { events, bytes: expected[name].bytes, logger: main, read_floor: ref };
      const isTarget = name === '100k';
      return {
        figure: `GET /events/{user}, ${format.int(events)} events (${format.mb(expected[name].bytes)}), to the last byte (ratio = read floor ÷ Logger)`,
        result: `${format.ms(main.median_ms)}, server RSS ${format.mib(main.median_rss_growth_mib)}`,
        reference: `read floor ${format.ms(ref.median_ms)}, RSS ${format.mib(ref.median_rss_growth_mib)}`,
        ratio: format.percent(share),
        target: isTarget ? `>= ${TARGET.timeline.share * 100} %, RSS growth < ${TARGET.timeline.rssGrowthMiB} MiB` : 'info',
        met: isTarget ? share >= TARGET.timeline.share && main.median_rss_growth_mib < TARGET.timeline.rssGrowthMiB : undefined,
        values: {
          ms: main.median_ms,
          rss_growth_mib: main.median_rss_growth_mib,
          reference_ms: ref.median_ms,
          reference_rss_growth_mib: ref.median_rss_growth_mib,
          ratio: share,
        },
      };
    });
    return { rows, details };
  } finally {
    await stack.close();
  }
}

const CONTENTION = { ingestPerSecond: 400, healthPerSecond: 50, readers: 4, history: 100_000 };

/** POST /events and GET /health at fixed rates, side by side, for `duration` seconds. */
async function steadyIngest(url, duration) {
  const [ingest, health] = await Promise.all([
    load({
      url: `${url}/events`,
      method: 'POST',
      headers: json,
      body: JSON.stringify(singleEventOf('bench-[<id>]')),
      idReplacement: true,
      connections: 8,
      overallRate: CONTENTION.ingestPerSecond,
      duration,
    }),
    load({ url: `${url}/health`, connections: 1, overallRate: CONTENTION.healthPerSecond, duration }),
  ]);
  return { ingest, health };
}

async function contentionGroup({ runs, duration_s: duration }) {
  const stack = new Stack();
  try {
    const logger = await stack.service('learning-events', { DATABASE_URL: `sqlite:${stack.tempDir()}/logger.db` });
    await ingestHistory(logger.url, 'history-100k', CONTENTION.history);
    const readers = await stack.benchServer('timeline-readers.js');
    const control = (path) => fetch(`${readers.url}${path}`, { method: 'POST' }).then((res) => res.json());
    const target = encodeURIComponent(`${logger.url}/events/history-100k`);
    await steadyIngest(logger.url, 2); // JIT, SQLite page cache
    const r = await alternate(
      runs,
      {
        quiet: () => steadyIngest(logger.url, duration),
        contended: async () => {
          await control(`/start?target=${target}&clients=${CONTENTION.readers}`);
          const result = await steadyIngest(logger.url, duration);
          const timelines = await control('/stop');
          if (timelines.completed === 0 || timelines.failures > 0) {
            throw new BenchFailure(`the timeline readers read ${timelines.completed} timelines with ${timelines.failures} failures`);
          }
          return { ...result, timelines: timelines.completed };
        },
      },
      (name, result, round) =>
        progress(`  contention round ${round + 1}: ${name} ingest p99 ${result.ingest.p99Ms} ms, health p99 ${result.health.p99Ms} ms`),
    );
    const summary = (results, key) => loadSummary(results.map((x) => x[key]));
    const figures = {
      quiet: { ingest: summary(r.quiet, 'ingest'), health: summary(r.quiet, 'health') },
      contended: {
        ingest: summary(r.contended, 'ingest'),
        health: summary(r.contended, 'health'),
        timelines_per_run: r.contended.map((x) => x.timelines),
      },
    };
    const readersNote = `${CONTENTION.readers} clients reading the ${format.int(CONTENTION.history)}-event timeline (median ${format.int(median(figures.contended.timelines_per_run))} timelines a run)`;
    const rows = ['ingest', 'health'].map((key) => {
      const contended = figures.contended[key];
      const quiet = figures.quiet[key];
      const ratio = contended.p99_ms / quiet.p99_ms;
      const isTarget = key === 'ingest';
      return {
        figure:
          key === 'ingest'
            ? `POST /events at ${CONTENTION.ingestPerSecond}/s while ${readersNote} (ratio = p99 contended ÷ quiet)`
            : `GET /health at ${CONTENTION.healthPerSecond}/s, the same runs`,
        result: `p50 ${format.ms(contended.p50_ms)}, p99 ${format.ms(contended.p99_ms)}, ${format.int(contended.non_2xx_or_errors)} non-2xx`,
        reference: `no readers: p50 ${format.ms(quiet.p50_ms)}, p99 ${format.ms(quiet.p99_ms)}`,
        ratio: `${ratio.toFixed(2)}x`,
        target: isTarget ? `<= ${TARGET.contention.p99Ratio}x, no non-2xx` : 'info',
        met: isTarget ? ratio <= TARGET.contention.p99Ratio && contended.non_2xx_or_errors === 0 : undefined,
        values: { p99_ms: contended.p99_ms, reference_p99_ms: quiet.p99_ms, ratio },
      };
    });
    return { rows, details: figures };
  } finally {
    await stack.close();
  }
}

export const loggerGroups = [
  { names: ['single', 'tracing'], run: singleEventGroup },
  { names: ['batch'], run: batchGroup },
  { names: ['timeline'], run: timelineGroup },
  { names: ['contention'], run: contentionGroup },
  { names: replicaSetups('pg-single').map((setup) => setup.name), engine: 'postgres', run: pgSingleEventGroup },
  { names: replicaSetups('pg-batch').map((setup) => setup.name), engine: 'postgres', run: pgBatchGroup },
];

if (process.argv[1] === fileURLToPath(import.meta.url)) await runBench(loggerGroups);
