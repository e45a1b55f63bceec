// One group commit: the appends waiting at one moment, stored in a single transaction. Each append
// is all-or-nothing: when any of its client-chosen event_ids is already stored with different
// content, none of its events are stored and its outcomes say which conflicted.
import type { Knex } from '@learning-analytics/common';
import { isSameEvent, type NewEvent, type StoredEvent } from '../domain/events.js';
import { findEventsByIds, insertEvents } from './event-store.js';

export type AppendOutcome =
  | { status: 'created'; event: StoredEvent }
  | { status: 'duplicate'; event: StoredEvent }
  | { status: 'conflict'; event: StoredEvent };

export interface GroupResult {
  /** One list per append, in the order given. */
  outcomes: AppendOutcome[][];
  inserted: number;
}

export async function commitGroup(db: Knex, appends: NewEvent[][]): Promise<GroupResult> {
  return db.transaction(async (trx) => {
    const clientIds = appends.flatMap((events) => events.filter((e) => e.idChosenByClient).map((e) => e.event_id));
    const known = clientIds.length > 0 ? await findEventsByIds(trx, clientIds) : new Map<string, StoredEvent>();
    const toInsert: StoredEvent[] = [];
    const outcomes = appends.map((events) => {
      const perEvent = events.map((event): AppendOutcome => {
        const stored = known.get(event.event_id);
        if (!stored) return { status: 'created', event: { ...event, seq: 0 } };
        return { status: isSameEvent(stored, event) ? 'duplicate' : 'conflict', event: stored };
      });
      if (perEvent.some((o) => o.status === 'conflict')) return perEvent;
      for (const [i, outcome] of perEvent.entries()) {
        if (outcome.status !== 'created') continue;
        toInsert.push(outcome.event);
        // A later append in this group with the same client-chosen id is its retry.
        if (events[i]!.idChosenByClient) known.set(outcome.event.event_id, outcome.event);
      }
      return perEvent;
    });
    const seqs = await insertEvents(trx, toInsert);
    for (const event of toInsert) event.seq = seqs.get(event.event_id)!;
    return { outcomes, inserted: toInsert.length };
  });
}
