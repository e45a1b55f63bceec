// The parameters of Bayesian Knowledge Tracing (Corbett & Anderson, 1994) for one concept. A student
// either knows the concept or not, a state nobody sees; each answer is a noisy reading of it, and
// after each answer the student may learn (or forget) the concept.

/** Probabilities, each in [0, 1]. */
export interface BktParams {
  /** P(L0): the student knows the concept before the first answer. */
  pInit: number;
  /** P(T): a student who does not know the concept knows it after one more answer. */
  pLearn: number;
  /** P(G): a correct answer from a student who does not know the concept. */
  pGuess: number;
  /** P(S): a wrong answer from a student who knows the concept. */
  pSlip: number;
  /** P(F): a student who knows the concept no longer knows it after one more answer. */
  pForget: number;
}

/**
 * For concepts with too few students to fit. Moderate values, all inside the fit's default caps,
 * so a concept on defaults behaves like a fitted one, only less sure:
 * - pInit 0.3: a concept is more often new to a student than known already;
 * - pLearn 0.1: about ten answers of practice to learn it;
 * - pGuess 0.2: about one choice in five, a multiple-choice question's chance;
 * - pSlip 0.1: a student who knows the concept rarely errs, more rarely than a guess succeeds;
 * - pForget 0: classic BKT, where time alone takes no mastery away and so a correct answer never
 *   lowers p_known (pGuess + pSlip < 1 makes the answer itself count for, never against, knowing).
 */
export const DEFAULT_BKT_PARAMS: Readonly<BktParams> = Object.freeze({
  pInit: 0.3,
  pLearn: 0.1,
  pGuess: 0.2,
  pSlip: 0.1,
  pForget: 0,
});
