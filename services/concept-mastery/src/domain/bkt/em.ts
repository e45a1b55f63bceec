// Fits a concept's BKT parameters to its students' answers by expectation-maximisation (Baum-Welch
// on the two-state hidden Markov model), with seeded random restarts. Each iteration is one
// forward-backward pass over every sequence, reading the typed arrays in place and allocating nothing.
import { DEFAULT_BKT_PARAMS, type BktParams } from './params.js';
import type { ConceptObservations } from './observations.js';
import { seededRandom, type Random } from './random.js';

export interface FitOptions {
  /** Starts of EM; the first from DEFAULT_BKT_PARAMS, the others random. The best likelihood wins. Default 5. */
  restarts?: number;
  /** EM updates per start at most. Default 100. */
  maxIterations?: number;
  /**
   * A start stops when an update gains less than `tolerance` x |log-likelihood|. Relative, so the
   * bar is the same per answer whatever the data's size. Default 1e-7: the parameters are then
   * within about 1e-3 of EM's limit, below their sampling error up to a million answers.
   */
  tolerance?: number;
  /** Upper bound of pGuess. Default 0.3. */
  maxGuess?: number;
  /** Upper bound of pSlip. Default 0.3. maxGuess + maxSlip must be below 1. */
  maxSlip?: number;
  /** Fit pForget too; when false (the default) it stays 0, classic BKT. */
  fitForget?: boolean;
  /** Seed of the random starts. Default 1. */
  seed?: number;
}

export interface BktFit {
  params: BktParams;
  /** Natural log of P(every answer | params). */
  logLikelihood: number;
  /** EM updates the best start made. */
  iterations: number;
  /** The best start's log-likelihood before each update and after the last one (iterations + 1 values). */
  logLikelihoods: number[];
  /** Each start's final log-likelihood, in start order. */
  restartLogLikelihoods: number[];
}

/**
 * Every parameter stays at least this far from 0 and 1, so every answer keeps a nonzero probability
 * (the log-likelihood stays finite) and no start locks a parameter at an absorbing 0 or 1.
 */
const PROBABILITY_FLOOR = 1e-6;
/** EM moves a parameter away from its floor only slowly: a fitted pForget starts here instead of at 0. */
const FORGET_START = 0.05;
/**
 * A sequence's forward and backward variables shrink with every answer; they are multiplied by
 * RESCALE (a power of two, so exactly) whenever their sum falls below UNDERFLOW_GUARD. Kept this
 * close to 1, the less likely state's share can fall to 1e-290 of the other's before it underflows,
 * as far as the real-time p_known can: the pass and the tracing agree even on long sequences.
 */
const RESCALE = 2 ** 64;
const UNDERFLOW_GUARD = 2 ** -64;
const LOG_RESCALE = 64 * Math.LN2;

interface Bounds {
  maxGuess: number;
  maxSlip: number;
  fitForget: boolean;
}

/** The expected counts of one E-step, from which the M-step reads the new parameters. */
interface ExpectedCounts {
  sequences: number;
  knownAtStart: number;
  /** Answers before another answer, by state: the denominators of pLearn and pForget. */
  unknownBeforeNext: number;
  knownBeforeNext: number;
  learned: number;
  forgot: number;
  /** Answers by state: the denominators of pGuess and pSlip. */
  unknownAnswers: number;
  knownAnswers: number;
  guessed: number;
  slipped: number;
}

export function fitBkt(observations: ConceptObservations, options: FitOptions = {}): BktFit {
  const restarts = options.restarts ?? 5;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-7;
  checkRunOptions(restarts, maxIterations, tolerance);
  const bounds = boundsOf(options);
  if (observations.outcomes.length === 0) throw new RangeError('fitBkt: no observations to fit');

  const random = seededRandom(options.seed ?? 1);
  const workspace = createWorkspace(observations);
  let best: Omit<BktFit, 'restartLogLikelihoods'> | undefined;
  const restartLogLikelihoods: number[] = [];
  for (let restart = 0; restart < restarts; restart += 1) {
    const start = restart === 0 ? defaultStart(bounds) : randomStart(random, bounds);
    const fit = runEm(observations, start, bounds, maxIterations, tolerance, workspace);
    restartLogLikelihoods.push(fit.logLikelihood);
    if (best === undefined || fit.logLikelihood > best.logLikelihood) best = fit;
  }
  return { ...(best as Omit<BktFit, 'restartLogLikelihoods'>), restartLogLikelihoods };
}

/**
 * One EM update from `params`, and the log-likelihood of `params`. When `params` are within the
 * bounds `options` sets (pForget 0 unless fitForget), the update's log-likelihood is never lower.
 * fitBkt repeats it.
 */
export function emStep(
  observations: ConceptObservations,
  params: BktParams,
  options: Pick<FitOptions, 'maxGuess' | 'maxSlip' | 'fitForget'> = {},
): { params: BktParams; logLikelihood: number } {
  const bounds = boundsOf(options);
  const counts = emptyCounts();
  const logLikelihood = expectationStep(observations, params, createWorkspace(observations), counts);
  return { params: maximisationStep(counts, params, bounds), logLikelihood };
}

/** The log-likelihood of the answers under given parameters (-Infinity if they call an answer impossible). */
export function logLikelihood(observations: ConceptObservations, params: BktParams): number {
  return expectationStep(observations, params, createWorkspace(observations), emptyCounts());
}

function checkRunOptions(restarts: number, maxIterations: number, tolerance: number): void {
  if (!Number.isInteger(restarts) || restarts < 1) throw new RangeError(`fitBkt: restarts must be a positive integer, not ${restarts}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 0) {
    throw new RangeError(`fitBkt: maxIterations must be a non-negative integer, not ${maxIterations}`);
  }
  if (!(tolerance >= 0)) throw new RangeError(`fitBkt: tolerance must be >= 0, not ${tolerance}`);
}

function boundsOf(options: FitOptions): Bounds {
  const { maxGuess = 0.3, maxSlip = 0.3, fitForget = false } = options;
  if (!(maxGuess > PROBABILITY_FLOOR && maxSlip > PROBABILITY_FLOOR && maxGuess + maxSlip < 1)) {
    // The caps alone keep pGuess < 1 - pSlip, where a correct answer never lowers p_known; as a box,
    // they also keep the M-step an exact projection, so EM's likelihood still never decreases.
    throw new RangeError(`BKT fit: maxGuess and maxSlip must be positive with a sum below 1, not ${maxGuess} and ${maxSlip}`);
  }
  return { maxGuess, maxSlip, fitForget };
}

const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));
const probability = (value: number): number => clamp(value, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR);

function defaultStart(bounds: Bounds): BktParams {
  const d = DEFAULT_BKT_PARAMS;
  return {
    pInit: probability(d.pInit),
    pLearn: probability(d.pLearn),
    pGuess: clamp(d.pGuess, PROBABILITY_FLOOR, bounds.maxGuess),
    pSlip: clamp(d.pSlip, PROBABILITY_FLOOR, bounds.maxSlip),
    pForget: bounds.fitForget ? Math.max(d.pForget, FORGET_START) : 0,
  };
}

function randomStart(random: Random, bounds: Bounds): BktParams {
  const between = (low: number, high: number) => low + (high - low) * random();
  return {
    pInit: between(0.05, 0.95),
    pLearn: between(0.01, 0.5),
    pGuess: bounds.maxGuess * between(0.05, 1),
    pSlip: bounds.maxSlip * between(0.05, 1),
    pForget: bounds.fitForget ? between(0.01, 0.2) : 0,
  };
}

/**
 * The expected log-likelihood EM maximises splits into one term per parameter, each of the form
 * a log p + b log(1 - p): concave, so projecting its maximiser a / (a + b) onto the parameter's
 * bounds gives the exact maximum within them, and the likelihood keeps never decreasing.
 * A parameter nothing in the data informs (no answer followed by another, say) keeps its value.
 */
function maximisationStep(counts: ExpectedCounts, previous: BktParams, bounds: Bounds): BktParams {
  const ratio = (events: number, trials: number, fallback: number) => (trials > 0 ? events / trials : fallback);
  return {
    pInit: probability(counts.knownAtStart / counts.sequences),
    pLearn: probability(ratio(counts.learned, counts.unknownBeforeNext, previous.pLearn)),
    pGuess: clamp(ratio(counts.guessed, counts.unknownAnswers, previous.pGuess), PROBABILITY_FLOOR, bounds.maxGuess),
    pSlip: clamp(ratio(counts.slipped, counts.knownAnswers, previous.pSlip), PROBABILITY_FLOOR, bounds.maxSlip),
    pForget: bounds.fitForget ? probability(ratio(counts.forgot, counts.knownBeforeNext, previous.pForget)) : 0,
  };
}

function runEm(
  observations: ConceptObservations,
  start: BktParams,
  bounds: Bounds,
  maxIterations: number,
  tolerance: number,
  workspace: Workspace,
): Omit<BktFit, 'restartLogLikelihoods'> {
  const counts = emptyCounts();
  const logLikelihoods: number[] = [];
  let params = start;
  for (let iteration = 0; ; iteration += 1) {
    const current = expectationStep(observations, params, workspace, counts);
    const previous = logLikelihoods.at(-1);
    logLikelihoods.push(current);
    const converged = previous !== undefined && current - previous < tolerance * Math.abs(current);
    if (converged || iteration === maxIterations) return { params, logLikelihood: current, iterations: iteration, logLikelihoods };
    params = maximisationStep(counts, params, bounds);
  }
}

/** Per-sequence scratch, sized by the longest sequence once per fit and reused by every pass. */
interface Workspace {
  /** The forward variables P(answers up to t, known at t) and P(answers up to t, not known at t), rescaled. */
  forwardKnown: Float64Array;
  forwardUnknown: Float64Array;
}

function createWorkspace({ starts }: ConceptObservations): Workspace {
  let longest = 0;
  for (let s = 0; s + 1 < starts.length; s += 1) longest = Math.max(longest, (starts[s + 1] as number) - (starts[s] as number));
  return { forwardKnown: new Float64Array(longest), forwardUnknown: new Float64Array(longest) };
}

function emptyCounts(): ExpectedCounts {
  return {
    sequences: 0,
    knownAtStart: 0,
    unknownBeforeNext: 0,
    knownBeforeNext: 0,
    learned: 0,
    forgot: 0,
    unknownAnswers: 0,
    knownAnswers: 0,
    guessed: 0,
    slipped: 0,
  };
}

/** The parameters as the forward-backward pass reads them. */
interface Chain {
  pInit: number;
  learn: number;
  forget: number;
  stayKnown: number;
  stayUnknown: number;
  // P(answer | state) for a wrong (0) and a correct (1) answer: wrong + outcome x (correct - wrong).
  knownWrong: number;
  knownSpread: number;
  unknownWrong: number;
  unknownSpread: number;
}

const chainOf = ({ pInit, pLearn, pForget, pGuess, pSlip }: BktParams): Chain => ({
  pInit,
  learn: pLearn,
  forget: pForget,
  stayKnown: 1 - pForget,
  stayUnknown: 1 - pLearn,
  knownWrong: pSlip,
  knownSpread: 1 - 2 * pSlip,
  unknownWrong: 1 - pGuess,
  unknownSpread: 2 * pGuess - 1,
});

/** One E-step: fills `counts` with the expected counts under `params`; returns the log-likelihood. */
function expectationStep(observations: ConceptObservations, params: BktParams, workspace: Workspace, counts: ExpectedCounts): number {
  const { outcomes, starts } = observations;
  const chain = chainOf(params);
  Object.assign(counts, emptyCounts());
  let logLikelihood = 0;
  for (let s = 0; s + 1 < starts.length; s += 1) {
    const first = starts[s] as number;
    const length = (starts[s + 1] as number) - first;
    if (length > 0) logLikelihood += forwardBackward(outcomes, first, length, chain, workspace, counts);
  }
  return logLikelihood;
}

/**
 * One sequence's forward-backward pass: adds its expected counts to `counts`, returns its
 * log-likelihood. This is where a fit spends its time, hence its shape: the counts are summed in
 * locals; the outcome as 0/1 selects an emission by arithmetic, not by a branch; and the forward
 * and backward variables are kept unnormalised (rescaled only near underflow), so the chain from
 * one answer to the next holds no division. The one division per answer, normalising the
 * posterior, depends on nothing later and overlaps with the rest. A function per sequence, small
 * and called often, is also compiled by V8's optimising tier sooner than one long loop.
 */
function forwardBackward(
  outcomes: Uint8Array,
  first: number,
  length: number,
  chain: Chain,
  { forwardKnown, forwardUnknown }: Workspace,
  counts: ExpectedCounts,
): number {
  const { pInit, learn, forget, stayKnown, stayUnknown, knownWrong, knownSpread, unknownWrong, unknownSpread } = chain;

  // Forward. Before answer t, `known` and `unknown` are P(answers before t, state at t), rescaled.
  let known = pInit;
  let unknown = 1 - pInit;
  let logScale = 0;
  for (let t = 0; t < length; t += 1) {
    const outcome = outcomes[first + t] as number;
    known *= knownWrong + outcome * knownSpread;
    unknown *= unknownWrong + outcome * unknownSpread;
    if (known + unknown < UNDERFLOW_GUARD) {
      known *= RESCALE;
      unknown *= RESCALE;
      logScale += LOG_RESCALE;
    }
    forwardKnown[t] = known;
    forwardUnknown[t] = unknown;
    const nextKnown = known * stayKnown + unknown * learn;
    unknown = known * forget + unknown * stayUnknown;
    known = nextKnown;
  }
  // A transition keeps the total: after the last answer it is P(every answer), rescaled.
  const logLikelihood = Math.log(known + unknown) - logScale;

  // Backward. At t, `betaKnown` and `betaUnknown` are P(answers after t | state at t), rescaled;
  // forward x backward is proportional to P(state at t | every answer).
  let betaKnown = 1;
  let betaUnknown = 1;
  let nextOutcome = 0;
  let smoothedKnown = 0;
  let beforeNextKnown = 0;
  let learned = 0;
  let forgot = 0;
  let answersKnown = 0;
  let slipped = 0;
  let guessed = 0;
  for (let t = length - 1; t >= 0; t -= 1) {
    const outcome = outcomes[first + t] as number;
    const fromKnown = forwardKnown[t] as number;
    const fromUnknown = forwardUnknown[t] as number;
    if (t === length - 1) {
      smoothedKnown = fromKnown / (fromKnown + fromUnknown);
    } else {
      // P(answer t + 1 and the answers after it | state at t + 1), rescaled.
      const towardKnown = (knownWrong + nextOutcome * knownSpread) * betaKnown;
      const towardUnknown = (unknownWrong + nextOutcome * unknownSpread) * betaUnknown;
      betaKnown = stayKnown * towardKnown + forget * towardUnknown;
      betaUnknown = learn * towardKnown + stayUnknown * towardUnknown;
      if (betaKnown + betaUnknown < UNDERFLOW_GUARD) {
        betaKnown *= RESCALE;
        betaUnknown *= RESCALE;
      }
      const knownPart = fromKnown * betaKnown;
      const normaliser = 1 / (knownPart + fromUnknown * betaUnknown);
      smoothedKnown = knownPart * normaliser;
      learned += fromUnknown * learn * towardKnown * normaliser;
      forgot += fromKnown * forget * towardUnknown * normaliser;
      beforeNextKnown += smoothedKnown;
    }
    answersKnown += smoothedKnown;
    slipped += (1 - outcome) * smoothedKnown;
    guessed += outcome * (1 - smoothedKnown);
    nextOutcome = outcome;
  }

  counts.sequences += 1;
  counts.knownAtStart += smoothedKnown;
  counts.knownBeforeNext += beforeNextKnown;
  counts.unknownBeforeNext += length - 1 - beforeNextKnown;
  counts.learned += learned;
  counts.forgot += forgot;
  counts.knownAnswers += answersKnown;
  counts.unknownAnswers += length - answersKnown;
  counts.slipped += slipped;
  counts.guessed += guessed;
  return logLikelihood;
}
