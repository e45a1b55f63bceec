// The opaque cursor of a paged timeline: the (time, seq) position of the last event served and the
// seq snapshot taken at the first page. Pages only ever show events with seq <= snapshot, so a
// listing is one consistent snapshot: no event is skipped or repeated while new ones arrive
// (including back-dated ones, which sort before the position already served).
import { BadRequestError } from '@learning-analytics/common';
import type { TimelinePosition } from '../data/event-store.js';

export interface TimelineCursor {
  afterOccurredAt: number;
  afterSeq: number;
  snapshotSeq: number;
}

export function encodeCursor(cursor: TimelineCursor): string {
  return Buffer.from(JSON.stringify([cursor.afterOccurredAt, cursor.afterSeq, cursor.snapshotSeq])).toString('base64url');
}

export function decodeCursor(value: string): TimelinePosition {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 3 && parsed.every((n) => Number.isSafeInteger(n))) {
      const [afterOccurredAt, afterSeq, snapshotSeq] = parsed as [number, number, number];
      return { afterOccurredAt, afterSeq, snapshotSeq };
    }
  } catch {
    // fall through to the one error below
  }
  throw new BadRequestError('Invalid cursor.', [{ path: 'query:/cursor', reason: 'is not a cursor this service issued' }]);
}
