// Real-time BKT: p_known, the probability that the student knows the concept just before their next
// answer, updated one answer at a time. An answer first updates it by Bayes' rule (the posterior),
// then the student may learn or forget before the next answer (the transition).
// p_known is one double, so after a long run of correct answers (about 25 with the defaults) it
// rounds to exactly 1, and with pForget = 0 it then stays 1: every later wrong answer is a slip.
// Exact arithmetic would let a long run of wrong answers bring it down again; the fit (em.ts)
// keeps both states' shares and is not affected.
import type { BktParams } from './params.js';

/** p_known before a student's first answer. */
export const initialKnown = (params: BktParams): number => params.pInit;

/** P(the next answer is correct), given p_known before it. */
export function predictCorrect(pKnown: number, params: BktParams): number {
  return pKnown * (1 - params.pSlip) + (1 - pKnown) * params.pGuess;
}

/** P(known | this answer), before any learning or forgetting. */
export function posteriorKnown(pKnown: number, correct: boolean, params: BktParams): number {
  const known = pKnown * (correct ? 1 - params.pSlip : params.pSlip);
  const unknown = (1 - pKnown) * (correct ? params.pGuess : 1 - params.pGuess);
  // An answer the parameters call impossible (a slip with pSlip = 0 from a sure p_known, say)
  // carries no usable evidence: keep p_known rather than return NaN.
  return known + unknown > 0 ? known / (known + unknown) : pKnown;
}

/** p_known before the next answer, from the posterior after this one. */
export function transition(posterior: number, params: BktParams): number {
  return posterior * (1 - params.pForget) + (1 - posterior) * params.pLearn;
}

/** p_known after one more answer. */
export function observe(pKnown: number, correct: boolean, params: BktParams): number {
  return transition(posteriorKnown(pKnown, correct, params), params);
}

/** p_known after a student's answers in order, from the start: the same `observe` the stream uses. */
export function foldObservations(params: BktParams, outcomes: Iterable<boolean>): number {
  let pKnown = initialKnown(params);
  for (const correct of outcomes) pKnown = observe(pKnown, correct, params);
  return pKnown;
}
