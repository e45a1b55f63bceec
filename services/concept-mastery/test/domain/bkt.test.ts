// Bayesian Knowledge Tracing, the real-time half: the update's golden values, stream == fold, what
// an answer can and cannot do to p_known, the compact observations, the simulator and the metrics.
import fc from 'fast-check';
import { DEFAULT_BKT_PARAMS, type BktParams } from '../../src/domain/bkt/params.js';
import { foldObservations, initialKnown, observe, posteriorKnown, predictCorrect, transition } from '../../src/domain/bkt/tracing.js';
import { ObservationsBuilder, selectSequences, sequenceCount, sequenceOutcomes } from '../../src/domain/bkt/observations.js';
import { simulateLearners } from '../../src/domain/bkt/simulate.js';
import { auc, logLoss, passRatioPredictions, rmse } from '../../src/domain/bkt/evaluation.js';
import { seededRandom, shuffleInPlace } from '../../src/domain/bkt/random.js';

const probability = fc.double({ min: 0, max: 1, noNaN: true });

/**
 * Any parameters with pGuess < 1 - pSlip: an answer is likelier correct from a student who knows.
 * By a margin: at pGuess = 1 - pSlip exactly, rounding alone could put a 1e-300 guess against a
 * sure slip.
 */
const MARGIN = 1e-9;
const paramsArbitrary = fc
  .record({ pInit: probability, pLearn: probability, pGuess: probability, slipShare: probability, pForget: probability })
  .map(({ pGuess, slipShare, ...rest }): BktParams => {
    const guess = pGuess * (1 - MARGIN);
    return { ...rest, pGuess: guess, pSlip: slipShare * (1 - MARGIN - guess) };
  });

const streamOf = (params: BktParams, outcomes: boolean[]) => {
  const trace: number[] = [];
  let pKnown = initialKnown(params);
  for (const correct of outcomes) {
    pKnown = observe(pKnown, correct, params);
    trace.push(pKnown);
  }
  return trace;
};

describe('tracing', () => {
  const tenPercent: BktParams = { pInit: 0.1, pLearn: 0.1, pGuess: 0.1, pSlip: 0.1, pForget: 0 };

  test.each([
    ['correct, correct, correct', [true, true, true], [0.55, 0.925, 0.991964]],
    ['correct, wrong, correct', [true, false, true], [0.55, 0.207609, 0.731985]],
  ])('golden values, every parameter 0.1 and no forgetting: %s', (_, outcomes, expected) => {
    const trace = streamOf(tenPercent, outcomes);
    expect(trace).toHaveLength(expected.length);
    trace.forEach((pKnown, i) => expect(pKnown).toBeCloseTo(expected[i] as number, 6));
    expect(foldObservations(tenPercent, outcomes)).toBeCloseTo(expected[2] as number, 6);
  });

  test('predictCorrect mixes 1 - pSlip and pGuess by p_known; the start is pInit', () => {
    expect(initialKnown(DEFAULT_BKT_PARAMS)).toBe(0.3);
    expect(predictCorrect(0.3, DEFAULT_BKT_PARAMS)).toBeCloseTo(0.3 * 0.9 + 0.7 * 0.2, 12);
    expect(predictCorrect(1, tenPercent)).toBeCloseTo(0.9, 12);
    expect(predictCorrect(0, tenPercent)).toBeCloseTo(0.1, 12);
  });

  test('the stream (one answer at a time) == the fold over the whole sequence, within 1e-12', () => {
    fc.assert(
      fc.property(paramsArbitrary, fc.array(fc.boolean(), { maxLength: 300 }), (params, outcomes) => {
        const trace = streamOf(params, outcomes);
        expect(Math.abs(foldObservations(params, outcomes) - (trace.at(-1) ?? params.pInit))).toBeLessThanOrEqual(1e-12);
      }),
    );
  });

  test('with pGuess < 1 - pSlip, the posterior after a correct answer is >= the prior, after a wrong one <= the prior', () => {
    fc.assert(
      fc.property(paramsArbitrary, probability, (params, pKnown) => {
        expect(posteriorKnown(pKnown, true, params)).toBeGreaterThanOrEqual(pKnown - 1e-12);
        expect(posteriorKnown(pKnown, false, params)).toBeLessThanOrEqual(pKnown + 1e-12);
      }),
    );
  });

  test('with pForget = 0 the transition never lowers p_known, so a correct answer never lowers p_known', () => {
    fc.assert(
      fc.property(paramsArbitrary, probability, (anyParams, pKnown) => {
        const params = { ...anyParams, pForget: 0 };
        expect(transition(pKnown, params)).toBeGreaterThanOrEqual(pKnown - 1e-12);
        expect(observe(pKnown, true, params)).toBeGreaterThanOrEqual(pKnown - 1e-12);
      }),
    );
  });

  test('with pLearn + pForget <= 1, p_known after a correct answer is >= p_known after a wrong one', () => {
    fc.assert(
      fc.property(paramsArbitrary, probability, probability, (anyParams, forgetShare, pKnown) => {
        const params = { ...anyParams, pForget: forgetShare * (1 - anyParams.pLearn) };
        expect(observe(pKnown, true, params)).toBeGreaterThanOrEqual(observe(pKnown, false, params) - 1e-12);
      }),
    );
  });

  test('what the properties leave out is false: with forgetting a correct answer can lower p_known, and a wrong one can raise it', () => {
    expect(observe(0.95, true, { ...tenPercent, pForget: 0.5 })).toBeLessThan(0.95);
    expect(observe(0.05, false, { ...tenPercent, pLearn: 0.5 })).toBeGreaterThan(0.05);
  });

  test('an answer the parameters call impossible leaves p_known as it was', () => {
    const sure: BktParams = { pInit: 1, pLearn: 0, pGuess: 0, pSlip: 0, pForget: 0 };
    expect(posteriorKnown(1, false, sure)).toBe(1);
  });
});

describe('observations', () => {
  test('answers added students interleaved come out grouped by student, each in its order', () => {
    const observations = new ObservationsBuilder()
      .add('ana', true)
      .add('ben', false)
      .add('ana', false)
      .addSequence('cy', [true, true])
      .add('ben', true)
      .add('ana', true)
      .build();
    expect(observations.studentKeys).toEqual(['ana', 'ben', 'cy']);
    expect([...observations.starts]).toEqual([0, 3, 5, 7]);
    expect([...observations.outcomes]).toEqual([1, 0, 1, 0, 1, 1, 1]);
    expect(sequenceCount(observations)).toBe(3);
    expect([...sequenceOutcomes(observations, 1)]).toEqual([0, 1]);
  });

  test('the builder grows past its first buffers and matches per-student arrays', () => {
    const random = seededRandom(7);
    const builder = new ObservationsBuilder();
    const expected = new Map<string, number[]>();
    for (let i = 0; i < 10_000; i += 1) {
      const student = `s${Math.floor(random() * 300)}`;
      const correct = random() < 0.6;
      builder.add(student, correct);
      expected.set(student, [...(expected.get(student) ?? []), correct ? 1 : 0]);
    }
    const observations = builder.build();
    expect(observations.outcomes).toBeInstanceOf(Uint8Array);
    expect(observations.starts).toBeInstanceOf(Uint32Array);
    expect(observations.outcomes.length).toBe(10_000);
    expect([...observations.studentKeys].sort()).toEqual([...expected.keys()].sort());
    observations.studentKeys.forEach((student, s) => expect([...sequenceOutcomes(observations, s)]).toEqual(expected.get(student)));
  });

  test('selectSequences copies the chosen students, in the chosen order', () => {
    const observations = new ObservationsBuilder()
      .addSequence('a', [true])
      .addSequence('b', [false, false])
      .addSequence('c', [true, false])
      .build();
    const picked = selectSequences(observations, [2, 0]);
    expect(picked.studentKeys).toEqual(['c', 'a']);
    expect([...picked.starts]).toEqual([0, 2, 3]);
    expect([...picked.outcomes]).toEqual([1, 0, 1]);
  });
});

describe('simulateLearners', () => {
  const params: BktParams = { pInit: 0.3, pLearn: 0.15, pGuess: 0.2, pSlip: 0.1, pForget: 0 };

  test('is deterministic for a seed, and the seed matters', () => {
    const a = simulateLearners(params, { students: 200, attempts: 15, seed: 3 });
    expect(simulateLearners(params, { students: 200, attempts: 15, seed: 3 })).toEqual(a);
    expect(simulateLearners(params, { students: 200, attempts: 15, seed: 4 }).outcomes).not.toEqual(a.outcomes);
    expect(a.outcomes.length).toBe(3000);
    expect(sequenceCount(a)).toBe(200);
    expect(a.studentKeys[199]).toBe('student-199');
  });

  test('answers follow the parameters: first answers right at about predictCorrect(pInit), learners end up mostly right', () => {
    const { outcomes } = simulateLearners(params, { students: 20_000, attempts: 30, seed: 1 });
    let firstRight = 0;
    let lastRight = 0;
    for (let s = 0; s < 20_000; s += 1) {
      firstRight += outcomes[s * 30] as number;
      lastRight += outcomes[s * 30 + 29] as number;
    }
    expect(firstRight / 20_000).toBeCloseTo(predictCorrect(0.3, params), 1.5);
    // P(known before answer 30) = 1 - 0.7 x 0.85^29.
    expect(lastRight / 20_000).toBeCloseTo(predictCorrect(1 - 0.7 * 0.85 ** 29, params), 1.5);
  });

  test('sure parameters give sure answers', () => {
    const knowers = simulateLearners({ pInit: 1, pLearn: 0, pGuess: 0, pSlip: 0, pForget: 0 }, { students: 10, attempts: 10, seed: 1 });
    expect(knowers.outcomes.every((o) => o === 1)).toBe(true);
  });
});

describe('metrics', () => {
  test('auc ranks, counting ties half', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
    expect(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBeCloseTo(0.5, 12);
    expect(auc([0.2, 0.5, 0.5, 0.9], [false, false, true, true])).toBeCloseTo(0.875, 12);
    expect(auc([0.3, 0.6], [1, 1])).toBeNaN();
  });

  test('auc == the share of (correct, wrong) pairs ranked right, ties half, over generated predictions', () => {
    const sample = fc.array(fc.tuple(fc.constantFrom(0, 0.25, 0.5, 0.75, 1, 0.1234), fc.boolean()), { minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(sample, (pairs) => {
        const positives = pairs.filter(([, y]) => y).map(([p]) => p);
        const negatives = pairs.filter(([, y]) => !y).map(([p]) => p);
        let wins = 0;
        for (const p of positives) for (const n of negatives) wins += p > n ? 1 : p === n ? 0.5 : 0;
        const expected = positives.length && negatives.length ? wins / (positives.length * negatives.length) : NaN;
        const got = auc(
          pairs.map(([p]) => p),
          pairs.map(([, y]) => y),
        );
        if (Number.isNaN(expected)) expect(got).toBeNaN();
        else expect(got).toBeCloseTo(expected, 12);
      }),
    );
  });

  test('rmse and log loss, the latter clipped so a sure miss costs a finite amount', () => {
    expect(rmse([0.5, 1, 0], [1, 1, 1])).toBeCloseTo(Math.sqrt((0.25 + 0 + 1) / 3), 12);
    expect(logLoss([0.8, 0.3], [1, 0])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(1e-15), 9);
    expect(() => rmse([0.5], [1, 0])).toThrow(RangeError);
  });

  test('the pass ratio predicts 0.5 before a student first answers, then correct / answered so far', () => {
    const observations = new ObservationsBuilder().addSequence('a', [true, false, true, true]).addSequence('b', [false, true]).build();
    expect([...passRatioPredictions(observations)]).toEqual([0.5, 1, 0.5, 2 / 3, 0.5, 0]);
  });

  test('the seeded shuffle is a permutation, the same for a seed', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const once = shuffleInPlace([...items], seededRandom(9));
    expect(shuffleInPlace([...items], seededRandom(9))).toEqual(once);
    expect([...once].sort((a, b) => a - b)).toEqual(items);
    expect(once).not.toEqual(items);
  });
});
