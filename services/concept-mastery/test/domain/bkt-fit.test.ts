// Bayesian Knowledge Tracing, the fitting half: EM's pass against brute force, its likelihood
// never decreasing, parameter recovery on simulated students, and held-out prediction against the
// true parameters and the pass ratio.
import fc from 'fast-check';
import type { BktParams } from '../../src/domain/bkt/params.js';
import { emStep, fitBkt, logLikelihood } from '../../src/domain/bkt/em.js';
import { ObservationsBuilder, sequenceCount, sequenceOutcomes, type ConceptObservations } from '../../src/domain/bkt/observations.js';
import { simulateLearners } from '../../src/domain/bkt/simulate.js';
import { crossValidate, evaluateParams } from '../../src/domain/bkt/evaluation.js';
import { initialKnown, observe, predictCorrect } from '../../src/domain/bkt/tracing.js';
import { seededRandom } from '../../src/domain/bkt/random.js';

const truth = (pInit: number, pLearn: number, pGuess: number, pSlip: number): BktParams => ({ pInit, pLearn, pGuess, pSlip, pForget: 0 });

/** The brief's three generating models; the first two lie inside the default caps, the third's pGuess on one. */
const TRUTHS = [truth(0.3, 0.15, 0.2, 0.1), truth(0.5, 0.05, 0.25, 0.15), truth(0.1, 0.3, 0.3, 0.05)] as const;
const SEED = 1;
const simulated = (params: BktParams, seed = SEED) => simulateLearners(params, { students: 500, attempts: 20, seed });

const observationsOf = (sequences: boolean[][]) =>
  sequences.reduce((builder, outcomes, s) => builder.addSequence(`s${s}`, outcomes), new ObservationsBuilder()).build();

/**
 * EM's update computed the slow, obvious way: every hidden path of every sequence, weighted by its
 * posterior probability, counted; then each parameter as its expected events / expected trials.
 */
function bruteForceEm(observations: ConceptObservations, p: BktParams): { params: BktParams; logLikelihood: number } {
  const sums = {
    start: 0,
    sequences: 0,
    learned: 0,
    fromUnknown: 0,
    forgot: 0,
    fromKnown: 0,
    guessed: 0,
    unknown: 0,
    slipped: 0,
    known: 0,
  };
  let total = 0;
  for (let s = 0; s < sequenceCount(observations); s += 1) {
    const outcomes = [...sequenceOutcomes(observations, s)];
    const n = outcomes.length;
    const paths: { weight: number; states: number[] }[] = [];
    for (let code = 0; code < 2 ** n; code += 1) {
      const states = outcomes.map((_, t) => (code >> t) & 1);
      let weight = states[0] ? p.pInit : 1 - p.pInit;
      states.forEach((known, t) => {
        const correct = outcomes[t] === 1;
        weight *= known ? (correct ? 1 - p.pSlip : p.pSlip) : correct ? p.pGuess : 1 - p.pGuess;
        if (t + 1 < n) {
          const next = states[t + 1];
          weight *= known ? (next ? 1 - p.pForget : p.pForget) : next ? p.pLearn : 1 - p.pLearn;
        }
      });
      paths.push({ weight, states });
    }
    const likelihood = paths.reduce((sum, path) => sum + path.weight, 0);
    total += Math.log(likelihood);
    sums.sequences += 1;
    for (const { weight, states } of paths) {
      const w = weight / likelihood;
      sums.start += w * (states[0] as number);
      states.forEach((known, t) => {
        const correct = outcomes[t] === 1;
        if (known) {
          sums.known += w;
          if (!correct) sums.slipped += w;
        } else {
          sums.unknown += w;
          if (correct) sums.guessed += w;
        }
        if (t + 1 < n) {
          if (known) {
            sums.fromKnown += w;
            if (!states[t + 1]) sums.forgot += w;
          } else {
            sums.fromUnknown += w;
            if (states[t + 1]) sums.learned += w;
          }
        }
      });
    }
  }
  return {
    params: {
      pInit: sums.start / sums.sequences,
      pLearn: sums.learned / sums.fromUnknown,
      pGuess: sums.guessed / sums.unknown,
      pSlip: sums.slipped / sums.known,
      pForget: sums.forgot / sums.fromKnown,
    },
    logLikelihood: total,
  };
}

const expectParamsClose = (actual: BktParams, expected: BktParams, digits: number) => {
  for (const key of ['pInit', 'pLearn', 'pGuess', 'pSlip', 'pForget'] as const) expect(actual[key]).toBeCloseTo(expected[key], digits);
};

const isNonDecreasing = (values: number[]) =>
  values.every((value, i) => i === 0 || value >= (values[i - 1] as number) - 1e-9 * Math.abs(values[i - 1] as number));

describe('the EM pass', () => {
  test('one update equals brute force over every hidden path (with forgetting, any lengths)', () => {
    const random = seededRandom(11);
    const sequences = Array.from({ length: 40 }, () => Array.from({ length: 1 + Math.floor(random() * 7) }, () => random() < 0.6));
    const observations = observationsOf(sequences);
    const start: BktParams = { pInit: 0.35, pLearn: 0.2, pGuess: 0.25, pSlip: 0.15, pForget: 0.1 };
    const expected = bruteForceEm(observations, start);
    // Caps wide enough that no parameter is projected.
    const step = emStep(observations, start, { fitForget: true, maxGuess: 0.49, maxSlip: 0.49 });
    expect(step.logLikelihood).toBeCloseTo(expected.logLikelihood, 9);
    expectParamsClose(step.params, expected.params, 9);
  });

  // Short random sequences, and a long one simulated from the parameters, whose likelihood (far
  // below 1e-300) the pass can only hold rescaled. pGuess and pSlip from 0.05: with near-sure
  // answers, tracing's p_known (one double) rounds to exactly 1 after a run of correct answers and
  // can no longer be talked down by wrong ones, while the pass keeps both states' shares.
  test('the log-likelihood is the sum of log P(answer | earlier answers) that real-time tracing predicts, even over 5,000 answers', () => {
    fc.assert(
      fc.property(
        fc.record({
          pInit: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
          pLearn: fc.double({ min: 0, max: 0.5, noNaN: true }),
          pGuess: fc.double({ min: 0.05, max: 0.3, noNaN: true }),
          pSlip: fc.double({ min: 0.05, max: 0.3, noNaN: true }),
          pForget: fc.double({ min: 0, max: 0.2, noNaN: true }),
        }),
        fc.array(fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 20 }),
        fc.nat(),
        (params, sequences, seed) => {
          const long = [...simulateLearners(params, { students: 1, attempts: 5000, seed }).outcomes].map((o) => o === 1);
          const all = [...sequences, long];
          let expected = 0;
          for (const outcomes of all) {
            let pKnown = initialKnown(params);
            for (const correct of outcomes) {
              const pCorrect = predictCorrect(pKnown, params);
              expected += Math.log(correct ? pCorrect : 1 - pCorrect);
              pKnown = observe(pKnown, correct, params);
            }
          }
          const actual = logLikelihood(observationsOf(all), params);
          expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.abs(expected));
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('fitBkt', () => {
  test.each([
    ['(0.3, 0.15, 0.2, 0.1)', TRUTHS[0]],
    ['(0.5, 0.05, 0.25, 0.15)', TRUTHS[1]],
  ])('the log-likelihood never decreases between iterations, truth %s inside the caps', (_, params) => {
    const observations = simulated(params);
    // Tolerance 0: every start runs until the likelihood stops rising or 100 updates.
    const fit = fitBkt(observations, { tolerance: 0 });
    expect(fit.logLikelihoods).toHaveLength(fit.iterations + 1);
    expect(fit.iterations).toBeGreaterThan(5);
    expect(isNonDecreasing(fit.logLikelihoods)).toBe(true);
    expect(fit.logLikelihood).toBe(fit.logLikelihoods.at(-1));
    expect(fit.logLikelihood).toBe(Math.max(...fit.restartLogLikelihoods));
    expect(fit.restartLogLikelihoods).toHaveLength(5);

    // From random starts too, with forgetting fitted, 60 updates each.
    const random = seededRandom(5);
    for (let start = 0; start < 5; start += 1) {
      let current: BktParams = {
        pInit: random(),
        pLearn: 0.5 * random(),
        pGuess: 0.3 * random(),
        pSlip: 0.3 * random(),
        pForget: 0.2 * random(),
      };
      const trajectory: number[] = [];
      for (let i = 0; i < 60; i += 1) {
        const step = emStep(observations, current, { fitForget: true });
        trajectory.push(step.logLikelihood);
        current = step.params;
      }
      expect(isNonDecreasing(trajectory)).toBe(true);
    }
  });

  test('with the truth beyond a cap, the fit stays at the cap, pGuess < 1 - pSlip, and the likelihood still never decreases', () => {
    const observations = simulated(truth(0.3, 0.1, 0.4, 0.1));
    const fit = fitBkt(observations, { tolerance: 0 });
    expect(fit.params.pGuess).toBeLessThanOrEqual(0.3);
    expect(fit.params.pSlip).toBeLessThanOrEqual(0.3);
    expect(fit.params.pGuess).toBeLessThan(1 - fit.params.pSlip);
    expect(isNonDecreasing(fit.logLikelihoods)).toBe(true);
    expect(fit.params.pForget).toBe(0);
  });

  test.each([
    ['(0.3, 0.15, 0.2, 0.1)', TRUTHS[0]],
    ['(0.5, 0.05, 0.25, 0.15)', TRUTHS[1]],
    ['(0.1, 0.3, 0.3, 0.05)', TRUTHS[2]],
  ])('recovers the parameters of 500 simulated students x 20 answers, truth %s', (_, params) => {
    const fit = fitBkt(simulated(params));
    expect(Math.abs(fit.params.pInit - params.pInit)).toBeLessThanOrEqual(0.08);
    expect(Math.abs(fit.params.pLearn - params.pLearn)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(fit.params.pGuess - params.pGuess)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(fit.params.pSlip - params.pSlip)).toBeLessThanOrEqual(0.03);
    expect(fit.params.pForget).toBe(0);
    // The fit explains the data at least as well as the truth does.
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(logLikelihood(simulated(params), params));
  });

  test('is deterministic for a seed', () => {
    const observations = simulated(TRUTHS[0]);
    expect(fitBkt(observations, { seed: 3 })).toEqual(fitBkt(observations, { seed: 3 }));
  });

  test('bad options and empty data are refused by name', () => {
    const observations = simulated(TRUTHS[0]);
    expect(() => fitBkt(observations, { maxGuess: 0.6, maxSlip: 0.5 })).toThrow(/maxGuess and maxSlip/);
    expect(() => fitBkt(observations, { restarts: 0 })).toThrow(/restarts/);
    expect(() => fitBkt(observations, { maxIterations: -1 })).toThrow(/maxIterations/);
    expect(() => fitBkt(observations, { tolerance: Number.NaN })).toThrow(/tolerance/);
    expect(() => fitBkt(new ObservationsBuilder().build())).toThrow(/no observations/);
  });
});

describe('held-out prediction', () => {
  // The second truth is left out: with pLearn 0.05 knowledge hardly moves within 20 answers, so the
  // running pass ratio is nearly as good a predictor, and even the true parameters beat its AUC by
  // only about 0.02 (0.018 to 0.022 over seeds 1 to 5).
  test.each([
    ['(0.3, 0.15, 0.2, 0.1)', TRUTHS[0]],
    ['(0.1, 0.3, 0.3, 0.05)', TRUTHS[2]],
  ])('5-fold BKT predicts about as well as the true parameters, and better than the pass ratio, truth %s', (_, params) => {
    const observations = simulated(params);
    const folds = { folds: 5, seed: SEED };
    const cv = crossValidate(observations, folds);
    const reference = evaluateParams(observations, params, folds);
    expect(cv.fold_params).toHaveLength(5);
    expect(Math.abs(cv.bkt.auc - reference.auc)).toBeLessThanOrEqual(0.005);
    expect(cv.bkt.auc - cv.pass_ratio.auc).toBeGreaterThanOrEqual(0.02);
    expect(cv.bkt.rmse).toBeLessThan(cv.pass_ratio.rmse);
    expect(cv.bkt.log_loss).toBeLessThan(cv.pass_ratio.log_loss);
  });
});
