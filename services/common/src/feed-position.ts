// A place in the Logger's feed: the writing transaction's number, then the seq. On SQLite the one
// writer commits in seq order and every transaction number is 0; on PostgreSQL several writers
// commit in any order, and the feed hands out a transaction's rows only once every older
// transaction has ended, so (transaction, seq) order never puts an event behind one already served.
// As text, both numbers zero-padded to a fixed width, positions sort as strings in feed order.

/** Digits of each part: an xid8 is below 2^64 (20 digits), a seq below 2^53 (16 digits). */
const TXID_DIGITS = 20;
const SEQ_DIGITS = 16;
const POSITION = /^(\d{20})\.(\d{16})$/;
const MAX_BIGINT = 2n ** 63n - 1n;

/** The position before every event: where a consumer without a cursor starts. */
export const FEED_START = feedPosition(0, 0);

/** `txid` as the database returns it: a number on SQLite, a decimal string on PostgreSQL. */
export function feedPosition(txid: number | string | bigint, seq: number): string {
  return `${String(txid).padStart(TXID_DIGITS, '0')}.${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

/** The two parts of a position, or undefined when `text` is not one. */
export function parseFeedPosition(text: string): { txid: string; seq: number } | undefined {
  const match = POSITION.exec(text);
  if (!match) return undefined;
  const seq = Number(match[2]);
  const txid = BigInt(match[1]!);
  // A transaction number is stored as a bigint.
  if (!Number.isSafeInteger(seq) || txid > MAX_BIGINT) return undefined;
  // Without leading zeros: how the database writes a bigint.
  return { txid: txid.toString(), seq };
}
