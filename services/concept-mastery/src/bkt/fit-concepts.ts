// The CPU-heavy half of a fit, run on a worker thread (fit-worker.ts) so the service keeps
// answering: EM per concept with enough students, and the held-out evaluation.
import { fitBkt, type FitOptions } from '../domain/bkt/em.js';
import { crossValidate } from '../domain/bkt/evaluation.js';
import { DEFAULT_BKT_PARAMS, type BktParams } from '../domain/bkt/params.js';
import { sequenceCount, type ConceptObservations } from '../domain/bkt/observations.js';
import type { ConceptParams } from './params-store.js';
import type { ConceptEvaluation, FitSettings } from './fit-job.js';

/** Held-out evaluation: 5 folds by student; each fold's fit uses fewer restarts than the real one. */
const EVALUATION_FOLDS = 5;
const EVALUATION_RESTARTS = 2;

export function fitConcepts(
  byConcept: Map<string, ConceptObservations>,
  settings: FitSettings,
  onProgress: (fitted: number, total: number) => void,
): { concepts: ConceptParams[]; evaluation: ConceptEvaluation[] } {
  const options: FitOptions = {
    restarts: settings.restarts,
    maxGuess: settings.maxGuess,
    maxSlip: settings.maxSlip,
    fitForget: settings.fitForget,
    seed: settings.seed,
  };
  const concepts: ConceptParams[] = [];
  const evaluation: ConceptEvaluation[] = [];
  const ordered = [...byConcept].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [conceptId, observations] of ordered) {
    const students = sequenceCount(observations);
    const stats = { students, observations: observations.outcomes.length };
    if (students < settings.minStudents) {
      concepts.push(conceptParams(conceptId, DEFAULT_BKT_PARAMS, { ...stats, fitted: false, log_likelihood: null, iterations: 0 }));
    } else {
      const result = fitBkt(observations, options);
      const fit = { ...stats, fitted: true, log_likelihood: result.logLikelihood, iterations: result.iterations };
      concepts.push(conceptParams(conceptId, result.params, fit));
      evaluation.push(evaluate(conceptId, observations, options));
    }
    onProgress(concepts.length, ordered.length);
  }
  return { concepts, evaluation };
}

function conceptParams(
  conceptId: string,
  { pInit, pLearn, pGuess, pSlip, pForget }: BktParams,
  fit: Pick<ConceptParams, 'fitted' | 'students' | 'observations' | 'log_likelihood' | 'iterations'>,
): ConceptParams {
  return { concept_id: conceptId, p_init: pInit, p_learn: pLearn, p_guess: pGuess, p_slip: pSlip, p_forget: pForget, ...fit };
}

function evaluate(conceptId: string, observations: ConceptObservations, options: FitOptions): ConceptEvaluation {
  const result = crossValidate(observations, {
    folds: EVALUATION_FOLDS,
    seed: options.seed ?? 1,
    fit: { ...options, restarts: Math.min(EVALUATION_RESTARTS, options.restarts ?? EVALUATION_RESTARTS) },
  });
  return {
    concept_id: conceptId,
    students: sequenceCount(observations),
    observations: observations.outcomes.length,
    bkt: result.bkt,
    pass_ratio: result.pass_ratio,
  };
}
