// The opaque cursor of a paged timeline: the (time, seq) position of the last event served and the
// snapshot taken at the first page (see ReadSnapshot). Pages only ever show the events visible in
// that snapshot, so a listing is one consistent snapshot on every replica: no event is skipped or
// repeated while new ones arrive (including back-dated ones, which sort before the position
// already served, and events of transactions that were still open at the first page).
import { BadRequestError } from '@learning-analytics/common';
import type { ReadSnapshot, TimelinePosition } from '../data/event-store.js';

export type TimelineCursor = Required<TimelinePosition>;

type Encoded = [number, number, number] | [number, number, number, string, string, string[]];

export function encodeCursor({ afterOccurredAt, afterSeq, snapshot }: TimelineCursor): string {
  const { seq, transactions: t } = snapshot;
  const encoded: Encoded = t ? [afterOccurredAt, afterSeq, seq, t.xmin, t.xmax, t.xip] : [afterOccurredAt, afterSeq, seq];
  return Buffer.from(JSON.stringify(encoded)).toString('base64url');
}

const isTxid = (value: unknown): value is string => typeof value === 'string' && /^\d{1,20}$/.test(value);

export function decodeCursor(value: string): TimelineCursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && (parsed.length === 3 || parsed.length === 6) && parsed.slice(0, 3).every((n) => Number.isSafeInteger(n))) {
      const [afterOccurredAt, afterSeq, seq, xmin, xmax, xip] = parsed as [number, number, number, unknown?, unknown?, unknown?];
      const snapshot: ReadSnapshot = { seq };
      if (parsed.length === 6) {
        if (!isTxid(xmin) || !isTxid(xmax) || !Array.isArray(xip) || !xip.every(isTxid)) throw new Error('not a snapshot');
        snapshot.transactions = { xmin, xmax, xip };
      }
      return { afterOccurredAt, afterSeq, snapshot };
    }
  } catch {
    // fall through to the one error below
  }
  throw new BadRequestError('Invalid cursor.', [{ path: 'query:/cursor', reason: 'is not a cursor this service issued' }]);
}
