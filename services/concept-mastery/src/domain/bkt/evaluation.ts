// How well a model predicts answers it has not seen: each answer is predicted from the same
// student's earlier answers only, then revealed, and BKT is fitted on other students. BKT is
// compared with the pass ratio (the service's baseline model) on the same answers, by AUC, RMSE
// and log loss.
import { fitBkt, type FitOptions } from './em.js';
import type { BktParams } from './params.js';
import { selectSequences, sequenceCount, type ConceptObservations } from './observations.js';
import { seededRandom, shuffleInPlace } from './random.js';
import { initialKnown, observe, predictCorrect } from './tracing.js';

export interface PredictionMetrics {
  /** Area under the ROC curve: P(a correct answer was predicted above a wrong one), ties counting half. */
  auc: number;
  rmse: number;
  log_loss: number;
}

export interface CrossValidation {
  /** Each metric's mean over the folds. */
  bkt: PredictionMetrics;
  pass_ratio: PredictionMetrics;
  /** The parameters fitted for each fold, in fold order. */
  fold_params: BktParams[];
}

export interface FoldOptions {
  /** Default 5. */
  folds?: number;
  /** Seed of the students' shuffle into folds. Default 1. */
  seed?: number;
}

export interface CrossValidationOptions extends FoldOptions {
  fit?: FitOptions;
}

/** Outcomes are 1 (or true) for correct, 0 (or false) for wrong. */
type Outcomes = ArrayLike<number | boolean>;

/** Rank-based (Mann-Whitney U) with average ranks for tied predictions; NaN without both outcomes. */
export function auc(predictions: ArrayLike<number>, outcomes: Outcomes): number {
  const count = checkLengths(predictions, outcomes);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i += 1) order[i] = i;
  order.sort((a, b) => (predictions[a] as number) - (predictions[b] as number));
  let positives = 0;
  let positiveRankSum = 0;
  for (let low = 0; low < count;) {
    let high = low + 1;
    while (high < count && predictions[order[high] as number] === predictions[order[low] as number]) high += 1;
    // Ranks low + 1 .. high, 1-based, share their mean.
    const rank = (low + 1 + high) / 2;
    for (let i = low; i < high; i += 1) {
      if (outcomes[order[i] as number]) {
        positives += 1;
        positiveRankSum += rank;
      }
    }
    low = high;
  }
  const negatives = count - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function rmse(predictions: ArrayLike<number>, outcomes: Outcomes): number {
  const count = checkLengths(predictions, outcomes);
  let sum = 0;
  for (let i = 0; i < count; i += 1) sum += ((predictions[i] as number) - (outcomes[i] ? 1 : 0)) ** 2;
  return Math.sqrt(sum / count);
}

const LOG_LOSS_CLIP = 1e-15;

/** Mean negative log-likelihood, predictions clipped to [1e-15, 1 - 1e-15] so a sure miss costs a finite amount. */
export function logLoss(predictions: ArrayLike<number>, outcomes: Outcomes): number {
  const count = checkLengths(predictions, outcomes);
  let sum = 0;
  for (let i = 0; i < count; i += 1) {
    const p = Math.min(1 - LOG_LOSS_CLIP, Math.max(LOG_LOSS_CLIP, predictions[i] as number));
    sum -= outcomes[i] ? Math.log(p) : Math.log(1 - p);
  }
  return sum / count;
}

export function predictionMetrics(predictions: ArrayLike<number>, outcomes: Outcomes): PredictionMetrics {
  return { auc: auc(predictions, outcomes), rmse: rmse(predictions, outcomes), log_loss: logLoss(predictions, outcomes) };
}

function checkLengths(predictions: ArrayLike<number>, outcomes: Outcomes): number {
  if (predictions.length !== outcomes.length) {
    throw new RangeError(`${predictions.length} predictions for ${outcomes.length} outcomes`);
  }
  return predictions.length;
}

/** BKT's P(correct) of every answer before it is seen, aligned with `observations.outcomes`. */
export function bktPredictions(observations: ConceptObservations, params: BktParams): Float64Array {
  const predictions = new Float64Array(observations.outcomes.length);
  for (let s = 0; s < sequenceCount(observations); s += 1) writeBktPredictions(observations, s, params, predictions);
  return predictions;
}

/** The pass ratio of every answer before it is seen: 0.5 before a student's first, then correct / answered. */
export function passRatioPredictions({ outcomes, starts }: ConceptObservations): Float64Array {
  const predictions = new Float64Array(outcomes.length);
  for (let s = 0; s + 1 < starts.length; s += 1) {
    const first = starts[s] as number;
    let correct = 0;
    for (let i = first; i < (starts[s + 1] as number); i += 1) {
      const answered = i - first;
      predictions[i] = answered === 0 ? 0.5 : correct / answered;
      correct += outcomes[i] as number;
    }
  }
  return predictions;
}

/**
 * The students (sequence indices) each fold holds out: the students shuffled (seeded), then dealt
 * to the folds in turn. Every student is held out by exactly one fold.
 */
export function studentFolds(observations: ConceptObservations, { folds = 5, seed = 1 }: FoldOptions = {}): number[][] {
  const students = sequenceCount(observations);
  if (!Number.isInteger(folds) || folds < 1 || folds > students) {
    throw new RangeError(`folds must be an integer from 1 to the ${students} students, not ${folds}`);
  }
  const order = shuffleInPlace(
    Array.from({ length: students }, (_, s) => s),
    seededRandom(seed),
  );
  return Array.from({ length: folds }, (_, fold) => order.filter((_, position) => position % folds === fold));
}

/**
 * K-fold cross-validation by student: each fold's students are predicted by BKT fitted on the
 * other folds' students, and by the pass ratio. Metrics are computed per fold and averaged: pooled
 * over folds, the folds' slightly different parameters would interleave their predictions and
 * cost AUC that no single model loses.
 */
export function crossValidate(observations: ConceptObservations, options: CrossValidationOptions = {}): CrossValidation {
  const folds = studentFolds(observations, options);
  if (folds.length < 2) throw new RangeError('crossValidate: at least 2 folds, one to fit on and one to predict');
  const bkt: PredictionMetrics[] = [];
  const passRatio: PredictionMetrics[] = [];
  const foldParams: BktParams[] = [];
  folds.forEach((heldOut, fold) => {
    const training = folds.filter((_, other) => other !== fold).flat();
    const { params } = fitBkt(selectSequences(observations, training), options.fit);
    const answers = selectSequences(observations, heldOut);
    bkt.push(predictionMetrics(bktPredictions(answers, params), answers.outcomes));
    passRatio.push(predictionMetrics(passRatioPredictions(answers), answers.outcomes));
    foldParams.push(params);
  });
  return { bkt: meanMetrics(bkt), pass_ratio: meanMetrics(passRatio), fold_params: foldParams };
}

/**
 * How given parameters (the truth behind simulated data, say) predict the same held-out answers
 * as crossValidate with the same fold options, scored the same way (per fold, averaged).
 * With `folds: 1`, simply over every answer.
 */
export function evaluateParams(observations: ConceptObservations, params: BktParams, options: FoldOptions = {}): PredictionMetrics {
  return meanMetrics(
    studentFolds(observations, options).map((heldOut) => {
      const answers = selectSequences(observations, heldOut);
      return predictionMetrics(bktPredictions(answers, params), answers.outcomes);
    }),
  );
}

function meanMetrics(perFold: PredictionMetrics[]): PredictionMetrics {
  const mean = (key: keyof PredictionMetrics) => perFold.reduce((sum, metrics) => sum + metrics[key], 0) / perFold.length;
  return { auc: mean('auc'), rmse: mean('rmse'), log_loss: mean('log_loss') };
}

function writeBktPredictions({ outcomes, starts }: ConceptObservations, sequence: number, params: BktParams, into: Float64Array): void {
  let pKnown = initialKnown(params);
  for (let i = starts[sequence] as number; i < (starts[sequence + 1] as number); i += 1) {
    into[i] = predictCorrect(pKnown, params);
    pKnown = observe(pKnown, outcomes[i] === 1, params);
  }
}
