// What a mastery model is: a pure, incremental fold over one concept's events. Recompute folds a
// full history and the real-time consumer applies one event at a time through the same `apply`,
// so the two agree by construction (test/domain checks it over generated histories).
import type { LearningEvent } from './learning-event.js';

/** How a model treated one event; anything but passed/failed left its state unchanged. */
export type EventOutcome = 'passed' | 'failed' | SkipReason;

export type SkipReason =
  /** Not a quiz_attempt: it does not change the ratio (it still moves last_event_at). */
  | 'not_a_quiz_attempt'
  /** A quiz_attempt with neither a numeric score nor a boolean correct: it cannot be graded. */
  | 'quiz_attempt_without_grade';

export const SKIP_REASONS: readonly SkipReason[] = ['not_a_quiz_attempt', 'quiz_attempt_without_grade'];

export interface MasteryModel<S> {
  /** Stored with every record, so records made by different models are told apart. */
  readonly name: string;
  initial(): S;
  /** The state after one more event. Pure: never mutates `state`. */
  apply(state: S, event: LearningEvent): S;
  /** Mastery, 0-100. */
  score(state: S): number;
  /** Graded quiz attempts folded into the state. */
  attempts(state: S): { total: number; successful: number };
  /** How `apply` treats the event (for the recompute summary and metrics). */
  classify(event: LearningEvent): EventOutcome;
}

/** The state of one concept of one student: the model's state plus what it has seen. */
export interface ConceptMastery<S> {
  state: S;
  /** Latest `timestamp` among the folded events, UTC milliseconds. */
  lastEventAt: number;
  /** Highest Logger seq folded in. The record is the fold of every event of its concept up to it. */
  lastSeq: number;
}

export function startConcept<S>(model: MasteryModel<S>, event: LearningEvent): ConceptMastery<S> {
  return { state: model.initial(), lastEventAt: event.occurredAt, lastSeq: event.seq };
}

/** Folds one more event into a concept's mastery (in any order: see foldHistory). */
export function applyEvent<S>(model: MasteryModel<S>, mastery: ConceptMastery<S>, event: LearningEvent): ConceptMastery<S> {
  return {
    state: model.apply(mastery.state, event),
    lastEventAt: Math.max(mastery.lastEventAt, event.occurredAt),
    lastSeq: Math.max(mastery.lastSeq, event.seq),
  };
}

/**
 * Folds a history into per-concept mastery, continuing from `start` (concept id -> mastery) when
 * given. Recompute folds the Logger's timeline (time order) and the consumer the feed (seq order):
 * the models here are order-independent, so both reach the same state.
 */
export function foldHistory<S>(
  model: MasteryModel<S>,
  events: Iterable<LearningEvent>,
  start: ReadonlyMap<string, ConceptMastery<S>> = new Map(),
): Map<string, ConceptMastery<S>> {
  const concepts = new Map(start);
  for (const event of events) {
    const current = concepts.get(event.concept_id) ?? startConcept(model, event);
    concepts.set(event.concept_id, applyEvent(model, current, event));
  }
  return concepts;
}

/**
 * The consumer's rule against double counting: an event is applied to a record only when its seq
 * is above the record's lastSeq. Sound because the feed delivers events in seq (= commit) order and
 * a record always holds every event of its concept up to its lastSeq.
 */
export function applyFeedEvent<S>(
  model: MasteryModel<S>,
  mastery: ConceptMastery<S> | undefined,
  event: LearningEvent,
): { mastery: ConceptMastery<S>; applied: boolean } {
  if (mastery && event.seq <= mastery.lastSeq) return { mastery, applied: false };
  return { mastery: applyEvent(model, mastery ?? startConcept(model, event), event), applied: true };
}
