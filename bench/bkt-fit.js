// Benchmark of a BKT fit end to end, both services running as child processes: 1,000,000 stored
// quiz attempts (10,000 simulated students x 5 concepts x 20, posted once, untimed, by the Brain's
// own simulate-cli), a Brain whose feed consumer has caught up on them, then POST /models/bkt/fit
// timed until GET /models/bkt/fits/{fit_id} says succeeded, polled every 100 ms (the polls also time
// the phases: reading the feed, then fitting on the worker thread and activating), and the Brain's
// resident memory meanwhile (peak minus before, sampled every 10 ms). Runs are sequential (one fit
// at a time), each followed, untimed, by the re-derivation of every BKT record with the new
// parameters, so the next fit starts on an idle Brain. Every fit starts a new worker thread, so each
// is as cold there as the first; the consumer's catch-up has warmed the main thread's feed path.
// Alternating with the fits: a plain client reading the same feed in the fit's pages of 10,000,
// from the start to the head (feedReadRun in concept-mastery.js), the fit's I/O floor.
// Usage, after `npm run build`: node bench/bkt-fit.js [--runs 5]; `npm run bench` runs it too, as
// the bkt-fit row.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Stack, residentMiB } from './processes.js';
import { format } from './report.js';
import { BenchFailure, progress, runBench } from './runner.js';
import { alternate, medianOf } from './stats.js';
import { caughtUp, feedHead, feedReadRun, scrapeMetrics, waitFor } from './concept-mastery.js';

const SIMULATION = { students: 10_000, concepts: 5, attempts: 20, seed: 1 };
const EVENTS = SIMULATION.students * SIMULATION.concepts * SIMULATION.attempts;
const RECORDS = SIMULATION.students * SIMULATION.concepts;
/** Events per feed page a fit reads (READ_PAGE in the Brain's fit-job.ts). */
const FIT_PAGE = 10_000;
const TARGET = { ms: 60_000, rssGrowthMB: 300 };
const POLL_MS = 100;
const simulateCli = join(dirname(fileURLToPath(import.meta.url)), '../services/concept-mastery/dist/src/simulate-cli.js');

/** Posts the simulated learners through the Logger's batch API; returns simulate-cli's {posted, truth}. */
async function simulate(loggerUrl) {
  const args = Object.entries(SIMULATION).flatMap(([name, value]) => [`--${name}`, String(value)]);
  const { stdout } = await promisify(execFile)(process.execPath, [simulateCli, '--url', loggerUrl, ...args], {
    maxBuffer: 1 << 20,
  });
  const result = JSON.parse(stdout);
  if (result.posted !== EVENTS) throw new Error(`simulate-cli posted ${result.posted} events, not ${EVENTS}`);
  return result;
}

const metric = async (url, name) => (await scrapeMetrics(url)).get(name) ?? 0;

/** One fit, from the POST to succeeded, with its phases as the polls saw them and the Brain's RSS. */
async function fitRun(brain) {
  const serverSecondsBefore = await metric(brain.url, 'bkt_fit_duration_seconds_sum');
  const rederivedBefore = await metric(brain.url, 'bkt_rederived_records_total');
  const before = residentMiB(brain.pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, residentMiB(brain.pid))), 10);
  const started = performance.now();
  let view;
  const seen = {}; // ms from the POST to the first poll that saw each phase
  let slowestPollMs = 0;
  try {
    const res = await fetch(`${brain.url}/models/bkt/fit`, { method: 'POST' });
    const body = await res.json();
    if (res.status !== 202) throw new Error(`POST /models/bkt/fit answered ${res.status}: ${JSON.stringify(body)}`);
    view = await waitFor(
      `fit ${body.fit_id}`,
      async () => {
        const asked = performance.now();
        const poll = await fetch(`${brain.url}/models/bkt/fits/${body.fit_id}`);
        const fit = await poll.json();
        slowestPollMs = Math.max(slowestPollMs, performance.now() - asked);
        if (poll.status !== 200) throw new Error(`GET /models/bkt/fits/${body.fit_id} answered ${poll.status}: ${JSON.stringify(fit)}`);
        seen[fit.progress.phase] ??= performance.now() - started;
        return fit.status === 'running' ? undefined : fit;
      },
      { everyMs: POLL_MS, limitMs: 10 * 60_000 },
    );
  } finally {
    clearInterval(sampler);
  }
  const ms = performance.now() - started;
  peak = Math.max(peak, residentMiB(brain.pid));
  if (view.status !== 'succeeded') throw new Error(`the fit ${view.status}: ${view.error}`);
  const { events_read: eventsRead, answers } = view.progress;
  if (answers !== EVENTS || view.concepts.length !== SIMULATION.concepts) {
    throw new Error(`the fit read ${answers} answers (${eventsRead} events) and fitted ${view.concepts.length} concepts`);
  }
  // Untimed: every record derived again with the new parameters before the next run. That starts
  // once the parameters are in force, so it is often over by the time a poll sees succeeded.
  const rederiveStarted = performance.now();
  await waitFor(
    'the BKT records to be derived again',
    async () => {
      const metrics = await scrapeMetrics(brain.url);
      const done = metrics.get('bkt_rederived_records_total') - rederivedBefore;
      return done >= RECORDS && metrics.get('bkt_rederive_pending_records') === 0 ? true : undefined;
    },
    { everyMs: POLL_MS, limitMs: 10 * 60_000 },
  );
  const rederiveWaitMs = performance.now() - rederiveStarted;
  // Read now: the fit records its duration just before the re-derivation starts, and a poll may see
  // succeeded earlier.
  const serverMs = ((await metric(brain.url, 'bkt_fit_duration_seconds_sum')) - serverSecondsBefore) * 1000;
  // Reading ends somewhere between two polls: it is timed to the first poll that saw a later phase.
  // Activating (the parameters written) is too short for the polls to time, so it counts as fitting.
  const readingMs = seen.fitting ?? seen.activating ?? seen.done ?? ms;
  return {
    ms,
    serverMs,
    readingMs,
    fittingMs: ms - readingMs,
    rssBeforeMiB: before,
    rssGrowthMiB: peak - before,
    rederiveWaitMs,
    slowestPollMs,
    version: view.version,
    concepts: view.concepts,
    evaluation: view.evaluation,
  };
}

async function bktFitGroup({ runs }) {
  const stack = new Stack();
  try {
    const dir = stack.tempDir();
    const logger = await stack.service('learning-events', { DATABASE_URL: `sqlite:${dir}/events.db` });
    const ingestStarted = performance.now();
    const { truth } = await simulate(logger.url);
    const ingestMs = performance.now() - ingestStarted;
    const head = await feedHead(logger.url);
    progress(`  bkt-fit: ${format.int(EVENTS)} events stored in ${format.ms(ingestMs)}; head ${head}`);
    // Started once the events are stored, so the consumer catches up without competing with the ingest.
    const brain = await stack.service('concept-mastery', { DATABASE_URL: `sqlite:${dir}/mastery.db`, LEARNING_EVENTS_URL: logger.url });
    const catchUpStarted = performance.now();
    await caughtUp(brain.url, head, POLL_MS);
    const catchUpMs = performance.now() - catchUpStarted;
    progress(`  bkt-fit: the Brain's consumer caught up in ${format.ms(catchUpMs)}`);
    await sleep(1000); // the consumer's last transaction and the process settle before RSS is read
    await feedReadRun(logger.url, FIT_PAGE, EVENTS); // warm-up: JIT, page cache

    const r = await alternate(
      runs,
      { fit: () => fitRun(brain), plain: () => feedReadRun(logger.url, FIT_PAGE, EVENTS) },
      (name, result, round) =>
        progress(
          name === 'fit'
            ? `  bkt-fit round ${round + 1}: fit ${format.ms(result.ms)} (reading ${format.ms(result.readingMs)}, fitting ${format.ms(result.fittingMs)}; server ${format.ms(result.serverMs)}; slowest poll ${format.ms(result.slowestPollMs)}), RSS ${format.mib(result.rssGrowthMiB)}; then waited ${format.ms(result.rederiveWaitMs)} for the records to be derived again`
            : `  bkt-fit round ${round + 1}: plain feed read ${format.ms(result.ms)}`,
        ),
    );

    const fit = {
      median_ms: medianOf(r.fit, 'ms'),
      median_server_ms: medianOf(r.fit, 'serverMs'),
      median_reading_ms: medianOf(r.fit, 'readingMs'),
      median_fitting_and_activating_ms: medianOf(r.fit, 'fittingMs'),
      median_rss_growth_mib: medianOf(r.fit, 'rssGrowthMiB'),
      max_rss_growth_mib: Math.max(...r.fit.map((x) => x.rssGrowthMiB)),
      runs_rss_before_mib: r.fit.map((x) => x.rssBeforeMiB),
      runs_ms: r.fit.map((x) => x.ms),
      runs_server_ms: r.fit.map((x) => x.serverMs),
      runs_reading_ms: r.fit.map((x) => x.readingMs),
      runs_fitting_ms: r.fit.map((x) => x.fittingMs),
      runs_rss_growth_mib: r.fit.map((x) => x.rssGrowthMiB),
      runs_rederive_wait_ms: r.fit.map((x) => x.rederiveWaitMs),
      // The answer of GET /models/bkt/fits/{fit_id} that took longest, per run: the last one (the
      // view read back from the database) can wait behind the re-derivation's transactions.
      runs_slowest_poll_ms: r.fit.map((x) => x.slowestPollMs),
      phase_poll_ms: POLL_MS,
      last_version: r.fit.at(-1).version,
      last_concepts: r.fit.at(-1).concepts,
      last_evaluation: r.fit.at(-1).evaluation,
      truth,
    };
    const plain = {
      page_size: FIT_PAGE,
      pages: r.plain[0].pages,
      bytes: r.plain[0].bytes,
      median_ms: medianOf(r.plain, 'ms'),
      runs_ms: r.plain.map((x) => x.ms),
    };
    if (!(plain.median_ms > 0)) throw new BenchFailure('the plain feed client took no time');
    const ratio = fit.median_ms / plain.median_ms;
    const growthMB = (fit.median_rss_growth_mib * 2 ** 20) / 1e6;
    return {
      rows: [
        {
          figure: `BKT fit end to end over ${format.int(EVENTS)} stored events (${format.int(SIMULATION.students)} students x ${SIMULATION.concepts} concepts x ${SIMULATION.attempts}), POST to succeeded, and the Brain's RSS growth (ratio = fit ÷ plain client)`,
          result: `${format.ms(fit.median_ms)} (server ${format.ms(fit.median_server_ms)}; reading ${format.ms(fit.median_reading_ms)}, fitting ${format.ms(fit.median_fitting_and_activating_ms)}), RSS ${format.mib(fit.median_rss_growth_mib)} (max ${format.mib(fit.max_rss_growth_mib)})`,
          reference: `plain client, GET /feed in pages of ${format.int(FIT_PAGE)} to the head (${format.mb(plain.bytes)}): ${format.ms(plain.median_ms)}`,
          ratio: format.times(ratio),
          target: `< ${format.ms(TARGET.ms)}, RSS growth < ${TARGET.rssGrowthMB} MB`,
          met: fit.median_ms < TARGET.ms && growthMB < TARGET.rssGrowthMB,
          values: {
            ms: fit.median_ms,
            server_ms: fit.median_server_ms,
            reading_ms: fit.median_reading_ms,
            fitting_ms: fit.median_fitting_and_activating_ms,
            rss_growth_mib: fit.median_rss_growth_mib,
            max_rss_growth_mib: fit.max_rss_growth_mib,
            reference_ms: plain.median_ms,
            ratio,
          },
        },
      ],
      details: {
        bkt_fit: {
          events: EVENTS,
          ...SIMULATION,
          ingest_ms: ingestMs,
          consumer_catch_up_ms: catchUpMs,
          fit,
          plain_client_feed: plain,
        },
      },
    };
  } finally {
    await stack.close();
  }
}

export const bktFitGroups = [{ names: ['bkt-fit'], run: bktFitGroup }];

if (process.argv[1] === fileURLToPath(import.meta.url)) await runBench(bktFitGroups);
