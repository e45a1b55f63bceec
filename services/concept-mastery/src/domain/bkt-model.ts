// Bayesian Knowledge Tracing as a mastery model: each graded quiz attempt of a concept (graded as
// for the pass ratio) updates p_known with that concept's parameters; other events leave it alone.
// The state keeps the answers in order, so a record can be derived again with newly fitted
// parameters without the Logger, and says which parameters version it was computed with.
import type { LearningEvent } from './learning-event.js';
import type { MasteryModel } from './mastery-model.js';
import { gradeEvent } from './pass-ratio-model.js';
import type { BktParams } from './bkt/params.js';
import { foldObservations, initialKnown, observe, predictCorrect } from './bkt/tracing.js';

export const BKT_MODEL = 'bkt';

export interface BktState {
  pKnown: number;
  pCorrectNext: number;
  /** The graded answers in timeline order, `1` correct and `0` wrong. */
  answers: string;
  /** The parameters version pKnown was computed with. */
  version: number;
}

/** The parameters in force for a concept, and the version they belong to. */
export type ParamsOf = (conceptId: string) => { params: BktParams; version: number };

export function createBktModel(options: { passScore: number; masteryThreshold: number; paramsOf: ParamsOf }): MasteryModel<BktState> {
  const { passScore, masteryThreshold, paramsOf } = options;
  const classify = (event: LearningEvent) => gradeEvent(event, passScore);

  return {
    name: BKT_MODEL,
    orderSensitive: true,
    initial(conceptId) {
      const { params, version } = paramsOf(conceptId);
      const pKnown = initialKnown(params);
      return { pKnown, pCorrectNext: predictCorrect(pKnown, params), answers: '', version };
    },
    apply(state, event) {
      const outcome = classify(event);
      if (outcome !== 'passed' && outcome !== 'failed') return state;
      const { params, version } = paramsOf(event.concept_id);
      // A record of older parameters is first derived again with the ones in force.
      const { pKnown } = rederive(state, event.concept_id, paramsOf);
      const next = observe(pKnown, outcome === 'passed', params);
      return {
        pKnown: next,
        pCorrectNext: predictCorrect(next, params),
        answers: state.answers + (outcome === 'passed' ? '1' : '0'),
        version,
      };
    },
    score: (state) => state.pKnown * 100,
    fields: (state) => {
      const successful = state.answers.split('1').length - 1;
      return {
        p_known: state.pKnown,
        p_correct_next: state.pCorrectNext,
        mastered: state.pKnown >= masteryThreshold,
        total_attempts: state.answers.length,
        successful_attempts: successful,
        params_version: state.version,
      };
    },
    fieldsSchema: {
      p_known: {
        type: 'number',
        minimum: 0,
        maximum: 1,
        description: 'P(the student knows the concept), after the last answer and its transition.',
      },
      p_correct_next: { type: 'number', minimum: 0, maximum: 1, description: 'P(the next answer is correct).' },
      mastered: { type: 'boolean', description: 'p_known >= BKT_MASTERY_THRESHOLD.' },
      total_attempts: { type: 'integer', minimum: 0, description: 'Graded quiz attempts.' },
      successful_attempts: { type: 'integer', minimum: 0, description: 'Passed quiz attempts.' },
      params_version: {
        type: 'integer',
        minimum: 0,
        description: 'The parameters version the record was computed with (0: the defaults).',
      },
    },
    classify,
    encode: (state) => JSON.stringify(state),
    decode: (text) => JSON.parse(text) as BktState,
  };
}

/** A stored state derived again with the parameters in force now (after a fit). */
export function rederive(state: BktState, conceptId: string, paramsOf: ParamsOf): BktState {
  const { params, version } = paramsOf(conceptId);
  if (version === state.version) return state;
  const pKnown = foldObservations(
    params,
    Array.from(state.answers, (answer) => answer === '1'),
  );
  return { pKnown, pCorrectNext: predictCorrect(pKnown, params), answers: state.answers, version };
}
