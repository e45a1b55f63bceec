// The messages between the EventWriter (main thread) and the writer thread. Appends are answered
// in the order they were sent, so a reply names no append: it settles the oldest ones waiting.
import type { NewEvent, StoredEvent } from '../domain/events.js';

export interface WriterThreadOptions {
  databaseUrl: string;
}

export type ToWriterThread = { kind: 'append'; appends: NewEvent[][] } | { kind: 'close' };

/** A created event is answered with its seq alone: the main thread still holds the rest of it. */
export type WireOutcome = number | { status: 'duplicate' | 'conflict'; event: StoredEvent };

export type FromWriterThread =
  | { kind: 'ready' }
  | { kind: 'committed'; outcomes: WireOutcome[][]; inserted: number; seconds: number }
  | { kind: 'failed'; appends: number; message: string; code?: string }
  | { kind: 'closed' };
