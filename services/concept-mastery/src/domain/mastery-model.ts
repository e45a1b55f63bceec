// What a mastery model is: a pure, incremental fold over one concept's events. Recompute folds a
// full history and the real-time consumer applies one event at a time through the same `apply`,
// so the two agree by construction (test/domain checks it over generated histories). Models are
// registered in models.ts; everything else (storage, consumer, recompute, API) works for any.
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
  /** Part of every record's key: each student and concept has one record per model. */
  readonly name: string;
  /**
   * Whether the state depends on the order of the events. Then they must be folded in timeline
   * order (timestamp, then seq): the consumer re-folds a concept whose new event is back-dated.
   */
  readonly orderSensitive: boolean;
  initial(conceptId: string): S;
  /** The state after one more event of the concept. Pure: never mutates `state`. */
  apply(state: S, event: LearningEvent): S;
  /** Mastery, 0-100. */
  score(state: S): number;
  /** The fields a record of this model shows besides the common ones, in the API's order. */
  fields(state: S): Record<string, unknown>;
  /** JSON Schemas of those fields, by name, for the API document. */
  readonly fieldsSchema: Record<string, object>;
  /** How `apply` treats the event (for the recompute summary and metrics). */
  classify(event: LearningEvent): EventOutcome;
  /** The state as stored, and back. */
  encode(state: S): string;
  decode(text: string): S;
}

/** A model of any state: what the registry and the storage handle. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMasteryModel = MasteryModel<any>;

/** The state of one concept of one student: the model's state plus what it has seen. */
export interface ConceptMastery<S> {
  state: S;
  /** Latest `timestamp` among the folded events, UTC milliseconds. */
  lastEventAt: number;
  /** Highest Logger seq folded in. The record is the fold of every event of its concept up to it. */
  lastSeq: number;
}

export function startConcept<S>(model: MasteryModel<S>, event: LearningEvent): ConceptMastery<S> {
  return { state: model.initial(event.concept_id), lastEventAt: event.occurredAt, lastSeq: event.seq };
}

/** Folds one more event into a concept's mastery. */
export function applyEvent<S>(model: MasteryModel<S>, mastery: ConceptMastery<S>, event: LearningEvent): ConceptMastery<S> {
  return {
    state: model.apply(mastery.state, event),
    lastEventAt: Math.max(mastery.lastEventAt, event.occurredAt),
    lastSeq: Math.max(mastery.lastSeq, event.seq),
  };
}

/**
 * Folds a history into per-concept mastery, continuing from `start` (concept id -> mastery) when
 * given. Recompute folds the Logger's timeline, in timeline order; the consumer the feed, in seq
 * order, which is timeline order too unless an event is back-dated (see isBackDated).
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

/**
 * Whether an event comes before what the record already folded, in timeline order (timestamp,
 * then seq). The feed brings events in seq order, so an event with the same timestamp as the
 * record's last one always comes after it.
 */
export function isBackDated(mastery: ConceptMastery<unknown> | undefined, event: LearningEvent): boolean {
  return mastery !== undefined && event.occurredAt < mastery.lastEventAt;
}
