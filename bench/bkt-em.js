// Benchmark of the BKT fit (pure computation, no services): EM with 5 restarts on one concept's
// 1,000,000 answers (50,000 simulated students x 20), the size the fit must handle in under 10 s.
// A run is one whole fitBkt call on data simulated once; the figure is the median over --runs runs,
// after one untimed warm-up run (V8 compiles the forward-backward pass during the first).
// Usage, after `npm run build`: node bench/bkt-em.js [--runs 5]   (prints JSON on stdout)
// `npm run bench` runs it too, as the bkt-em row.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { fitBkt } from '../services/concept-mastery/dist/src/domain/bkt/em.js';
import { simulateLearners } from '../services/concept-mastery/dist/src/domain/bkt/simulate.js';
import { format, machine } from './report.js';
import { median } from './stats.js';

const STUDENTS = 50_000;
const ATTEMPTS = 20;
const RESTARTS = 5;
const TARGET_MS = 10_000;
const TRUTH = { pInit: 0.3, pLearn: 0.15, pGuess: 0.2, pSlip: 0.1, pForget: 0 };

/** Fits the simulated concept `runs` times (after a warm-up) and returns the figures. */
export function measureBktEm(runs, onRun = () => {}) {
  const observations = simulateLearners(TRUTH, { students: STUDENTS, attempts: ATTEMPTS, seed: 1 });
  fitBkt(observations, { restarts: RESTARTS });
  const runsMs = [];
  let fit;
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    fit = fitBkt(observations, { restarts: RESTARTS });
    runsMs.push(performance.now() - started);
    onRun(run, runsMs[run]);
  }
  const medianMs = median(runsMs);
  return {
    observations: observations.outcomes.length,
    students: STUDENTS,
    attempts: ATTEMPTS,
    restarts: RESTARTS,
    runs,
    median_ms: medianMs,
    runs_ms: runsMs,
    observations_per_s: observations.outcomes.length / (medianMs / 1000),
    target_ms: TARGET_MS,
    met: medianMs < TARGET_MS,
    best_restart_iterations: fit.iterations,
    fitted: fit.params,
    truth: TRUTH,
  };
}

async function bktEmGroup({ runs }) {
  const result = measureBktEm(runs, (run, ms) => process.stderr.write(`  bkt-em run ${run + 1}: ${format.ms(ms)}\n`));
  return {
    rows: [
      {
        figure: `BKT EM fit of one concept: ${format.int(result.observations)} answers (${format.int(STUDENTS)} students x ${ATTEMPTS}), ${RESTARTS} restarts`,
        result: `${format.ms(result.median_ms)} (${format.int(result.observations_per_s)} answers/s)`,
        reference: '-',
        ratio: '-',
        target: `< ${format.ms(TARGET_MS)}`,
        met: result.met,
        values: { ms: result.median_ms, observations_per_s: result.observations_per_s },
      },
    ],
    details: { bkt_em: result },
  };
}

export const bktGroups = [{ names: ['bkt-em'], run: bktEmGroup }];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write('Usage: node bench/bkt-em.js [--runs 5]\n');
    process.exit(2);
  }
  console.log(JSON.stringify({ ...measureBktEm(runs), machine: machine() }, null, 2));
}
