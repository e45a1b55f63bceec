// The right to erasure on the write side: every event of a student goes, in one transaction with
// the marker that tells the feed's consumers, which names the student only by a digest.
import { sha256Hex } from '@learning-analytics/common';
import type { EventWrites } from './group-commit.js';

export interface ErasureResult {
  eventsDeleted: number;
  /** The marker's seq; undefined when there was nothing to erase (then no marker is written). */
  markerSeq: number | undefined;
}

export async function eraseStudent(db: EventWrites, userId: string, erasedAt: number): Promise<ErasureResult> {
  const result = await db.transaction(async (): Promise<ErasureResult> => {
    const eventsDeleted = await db.deleteEventsOf(userId);
    if (eventsDeleted === 0) return { eventsDeleted, markerSeq: undefined };
    const markerSeq = await db.insertErasure({ userIdSha256: sha256Hex(userId), eventsDeleted, erasedAt });
    return { eventsDeleted, markerSeq };
  });
  // Best effort, after the commit: the erasure itself is already durable.
  if (result.eventsDeleted > 0) await db.purgeDeletedCopies().catch(() => undefined);
  return result;
}
