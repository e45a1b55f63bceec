// What an event is inside the service: validated input made canonical (id assigned, time in UTC
// milliseconds), and the rule for when a retried event is "the same" as the one stored.
import { randomUUID } from 'node:crypto';
import deepEqual from 'fast-deep-equal';
import type { EventInput } from '../schemas.js';

export interface EventFields {
  event_id: string;
  user_id: string;
  event_type: string;
  concept_id: string;
  event_details: Record<string, unknown>;
  /** When it happened, in UTC milliseconds. */
  occurred_at: number;
  /** When the service received it, in UTC milliseconds. */
  recorded_at: number;
}

export interface NewEvent extends EventFields {
  /** The client chose event_id: it may already be stored (a retry). */
  idChosenByClient: boolean;
  /** The client gave the timestamp: a retry must give the same one. */
  timeChosenByClient: boolean;
}

export interface StoredEvent extends EventFields {
  seq: number;
}

/** An event as the values of one stored row, in column order, event_details as JSON text. */
export type EventValues = [
  event_id: string,
  user_id: string,
  event_type: string,
  concept_id: string,
  event_details: string,
  occurred_at: number,
  recorded_at: number,
];

export function toNewEvent(input: EventInput, receivedAt: number): NewEvent {
  return {
    event_id: input.event_id?.toLowerCase() ?? timeOrderedUuid(receivedAt),
    user_id: input.user_id,
    event_type: input.event_type,
    concept_id: input.concept_id,
    event_details: input.event_details ?? {},
    occurred_at: input.timestamp === undefined ? receivedAt : (parseInstant(input.timestamp) ?? Number.NaN),
    recorded_at: receivedAt,
    idChosenByClient: input.event_id !== undefined,
    timeChosenByClient: input.timestamp !== undefined,
  };
}

const EARLIEST_INSTANT = Date.parse('0000-01-01T00:00:00.000Z');
const LATEST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * The UTC milliseconds of an RFC 3339 time, or undefined when it is not an instant the service can
 * store and give back as RFC 3339: a leap second, or an offset that moves it out of years 0000-9999.
 */
export function parseInstant(text: string): number | undefined {
  const ms = Date.parse(text.toUpperCase()); // RFC 3339 allows a lower-case t and z; Date.parse does not
  return ms >= EARLIEST_INSTANT && ms <= LATEST_INSTANT ? ms : undefined; // NaN fails both
}

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Time-ordered ids land
 * at the end of the event_id index instead of on random pages, so a batch of new events dirties a
 * few pages, not one per event. The random bits come from randomUUID, whose entropy is pooled
 * (the uuid package's v7 draws fresh random bytes per id, which costs more than the insert).
 */
export function timeOrderedUuid(unixMs: number): string {
  const hex = unixMs.toString(16).padStart(12, '0');
  // randomUUID() is xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx: keep its variant and random tail.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${randomUUID().slice(15)}`;
}

/** A retry matches what is stored when every field the client sent is equal; an omitted timestamp matches any. */
export function isSameEvent(stored: StoredEvent, candidate: NewEvent): boolean {
  return (
    stored.user_id === candidate.user_id &&
    stored.event_type === candidate.event_type &&
    stored.concept_id === candidate.concept_id &&
    (!candidate.timeChosenByClient || stored.occurred_at === candidate.occurred_at) &&
    deepEqual(stored.event_details, candidate.event_details)
  );
}

export interface EventView {
  event_id: string;
  user_id: string;
  event_type: string;
  concept_id: string;
  event_details: Record<string, unknown>;
  timestamp: string;
  recorded_at: string;
  seq: number;
}

export function toEventView(event: StoredEvent): EventView {
  return {
    event_id: event.event_id,
    user_id: event.user_id,
    event_type: event.event_type,
    concept_id: event.concept_id,
    event_details: event.event_details,
    timestamp: new Date(event.occurred_at).toISOString(),
    recorded_at: new Date(event.recorded_at).toISOString(),
    seq: event.seq,
  };
}
