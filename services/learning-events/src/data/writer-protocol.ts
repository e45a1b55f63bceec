// The messages between the EventWriter (main thread) and the writer thread. Appends and erasures
// are answered in the order they were sent, so a reply names no request: it settles the oldest
// ones waiting.
// Events cross as flat arrays of strings and numbers, which cost far less to copy between threads
// than objects with nested event_details.
import type { DatabaseSettings } from '@learning-analytics/common';
import type { EventValues, NewEvent, StoredEvent } from '../domain/events.js';

export interface WriterThreadOptions {
  database: DatabaseSettings;
}

/** An event to store: its row values, then whether the client chose its event_id and its timestamp. */
export type WireEvent = [...EventValues, idChosenByClient: boolean, timeChosenByClient: boolean];

/** Positions in a WireEvent: the row values come first, so a row is `event.slice(0, ROW_VALUES)`. */
export const EVENT_ID = 0;
export const ROW_VALUES = 7;
export const ID_CHOSEN_BY_CLIENT = 7;

/** Deletes every event of a student and appends an erasure marker; ordered with the appends around it. */
export interface ErasureRequest {
  kind: 'erase';
  userId: string;
  erasedAt: number;
}

export type ToWriterThread = { kind: 'append'; appends: WireEvent[][] } | ErasureRequest | { kind: 'probe' } | { kind: 'close' };

/** A created event is answered with its seq alone: the main thread still holds the rest of it. */
export type WireOutcome = number | { status: 'duplicate' | 'conflict'; event: StoredEvent };

export type FromWriterThread =
  | { kind: 'ready' }
  | { kind: 'committed'; outcomes: WireOutcome[][]; inserted: number; seconds: number }
  | { kind: 'erased'; eventsDeleted: number; markerSeq: number | undefined }
  | { kind: 'probed' }
  | { kind: 'failed'; requests: number; message: string; code?: string };

export function toWireEvent(e: NewEvent): WireEvent {
  return [
    e.event_id,
    e.user_id,
    e.event_type,
    e.concept_id,
    JSON.stringify(e.event_details),
    e.occurred_at,
    e.recorded_at,
    e.idChosenByClient,
    e.timeChosenByClient,
  ];
}

export function fromWireEvent(w: WireEvent): NewEvent {
  const [event_id, user_id, event_type, concept_id, details, occurred_at, recorded_at, idChosenByClient, timeChosenByClient] = w;
  const event_details = JSON.parse(details) as Record<string, unknown>;
  return { event_id, user_id, event_type, concept_id, event_details, occurred_at, recorded_at, idChosenByClient, timeChosenByClient };
}
