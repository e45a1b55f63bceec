// The baseline model (the seed's): mastery = passed quiz attempts / graded quiz attempts x 100.
// A quiz_attempt passes when event_details.score >= passScore or event_details.correct === true.
// Other event types do not change the ratio. A quiz_attempt holding neither a numeric score nor a
// boolean correct (the Logger refuses those today; older or foreign data may hold them) is skipped,
// not failed: an attempt nobody graded says nothing about mastery.
import type { EventOutcome, MasteryModel } from './mastery-model.js';
import type { LearningEvent } from './learning-event.js';

export interface PassRatioState {
  total: number;
  successful: number;
}

export const PASS_RATIO_MODEL = 'pass_ratio';

export const passRatioModule = {
  name: PASS_RATIO_MODEL,
  create: ({ passScore }: { passScore: number }) => Promise.resolve({ model: createPassRatioModel(passScore) }),
};

/** The grading every model shares: whether an event is a graded quiz attempt, and whether it passed. */
export function gradeEvent(event: LearningEvent, passScore: number): EventOutcome {
  if (event.event_type !== 'quiz_attempt') return 'not_a_quiz_attempt';
  const { score, correct } = event.event_details;
  const hasScore = typeof score === 'number' && Number.isFinite(score);
  const hasCorrect = typeof correct === 'boolean';
  if (!hasScore && !hasCorrect) return 'quiz_attempt_without_grade';
  return (hasScore && score >= passScore) || correct === true ? 'passed' : 'failed';
}

export function createPassRatioModel(passScore: number): MasteryModel<PassRatioState> {
  const classify = (event: LearningEvent) => gradeEvent(event, passScore);

  return {
    name: PASS_RATIO_MODEL,
    orderSensitive: false,
    initial: () => ({ total: 0, successful: 0 }),
    classify,
    apply(state, event) {
      const outcome = classify(event);
      if (outcome === 'passed') return { total: state.total + 1, successful: state.successful + 1 };
      if (outcome === 'failed') return { total: state.total + 1, successful: state.successful };
      return state;
    },
    score: (state) => (state.total === 0 ? 0 : (state.successful / state.total) * 100),
    fields: (state) => ({ total_attempts: state.total, successful_attempts: state.successful }),
    fieldsSchema: {
      total_attempts: { type: 'integer', minimum: 0, description: 'Graded quiz attempts.' },
      successful_attempts: { type: 'integer', minimum: 0, description: 'Passed quiz attempts.' },
    },
    encode: (state) => JSON.stringify(state),
    decode: (text) => JSON.parse(text) as PassRatioState,
  };
}
