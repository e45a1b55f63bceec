// What a mastery model is: a pure, incremental fold over one concept's events. Recompute folds a
// full history and the real-time consumer applies one event at a time through the same `apply`,
// so the two agree by construction (test/domain checks it over generated histories). Models are
// registered in models.ts; everything else (storage, consumer, recompute, API) works for any.
import type { FeedEvent, LearningEvent } from './learning-event.js';

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
  /** The seq of the event folded last in timeline order (the latest one at lastEventAt). */
  lastEventSeq: number;
  /**
   * A feed position (compared as a string): the record is the fold of every event of its concept
   * at a position up to this one.
   */
  lastPosition: string;
}

export function startConcept<S>(model: MasteryModel<S>, event: LearningEvent, position: string): ConceptMastery<S> {
  return { state: model.initial(event.concept_id), lastEventAt: event.occurredAt, lastEventSeq: event.seq, lastPosition: position };
}

/** Whether `event` comes before the record's last event in timeline order (timestamp, then seq). */
function precedesLastEvent(mastery: ConceptMastery<unknown>, event: LearningEvent): boolean {
  return event.occurredAt < mastery.lastEventAt || (event.occurredAt === mastery.lastEventAt && event.seq < mastery.lastEventSeq);
}

/** Folds one more event into a concept's mastery; the record then claims every position up to `position` too. */
export function applyEvent<S>(
  model: MasteryModel<S>,
  mastery: ConceptMastery<S>,
  event: LearningEvent,
  position: string,
): ConceptMastery<S> {
  const last = precedesLastEvent(mastery, event) ? mastery : { lastEventAt: event.occurredAt, lastEventSeq: event.seq };
  return {
    state: model.apply(mastery.state, event),
    lastEventAt: last.lastEventAt,
    lastEventSeq: last.lastEventSeq,
    lastPosition: position > mastery.lastPosition ? position : mastery.lastPosition,
  };
}

/**
 * Folds feed events into per-concept mastery, continuing from `start` (concept id -> mastery) when
 * given: what the consumer does one event at a time, in feed order, which is timeline order
 * unless an event is back-dated (see isBackDated).
 */
export function foldHistory<S>(
  model: MasteryModel<S>,
  events: Iterable<FeedEvent>,
  start: ReadonlyMap<string, ConceptMastery<S>> = new Map(),
): Map<string, ConceptMastery<S>> {
  const concepts = new Map(start);
  for (const event of events) {
    const current = concepts.get(event.concept_id) ?? startConcept(model, event, event.position);
    concepts.set(event.concept_id, applyEvent(model, current, event, event.position));
  }
  return concepts;
}

/**
 * Folds a page of a settled timeline listing (the Logger's `settled=true`: every event of the
 * student at a position up to `settledThrough`, its Feed-Settled-Through, and only those), in
 * timeline order, continuing from `start`. Each fold claims every position up to there. The events
 * committed above it, behind a transaction still open, are left to the feed.
 */
export function foldSettledHistory<S>(
  model: MasteryModel<S>,
  events: Iterable<LearningEvent>,
  settledThrough: string,
  start: ReadonlyMap<string, ConceptMastery<S>> = new Map(),
): Map<string, ConceptMastery<S>> {
  const concepts = new Map(start);
  for (const event of events) {
    const current = concepts.get(event.concept_id) ?? startConcept(model, event, settledThrough);
    concepts.set(event.concept_id, applyEvent(model, current, event, settledThrough));
  }
  return concepts;
}

/**
 * The consumer's rule against double counting: an event is applied to a record only when its
 * position is above the record's lastPosition. Sound because the feed delivers events in position
 * order, never one behind a position it has served, and a record always holds every event of its
 * concept up to its lastPosition.
 */
export function applyFeedEvent<S>(
  model: MasteryModel<S>,
  mastery: ConceptMastery<S> | undefined,
  event: FeedEvent,
): { mastery: ConceptMastery<S>; applied: boolean } {
  if (mastery && event.position <= mastery.lastPosition) return { mastery, applied: false };
  return { mastery: applyEvent(model, mastery ?? startConcept(model, event, event.position), event, event.position), applied: true };
}

/**
 * Whether an event comes before what the record already folded, in timeline order (timestamp,
 * then seq). Feed order is not seq order once several Logger writers commit, so an event with the
 * record's last timestamp can still come before its last event.
 */
export function isBackDated(mastery: ConceptMastery<unknown> | undefined, event: LearningEvent): boolean {
  return mastery !== undefined && precedesLastEvent(mastery, event);
}
