// Builds one page of events as JSON, reading the rows a chunk at a time and stopping at `limit`
// events or once the page's JSON reaches MAX_PAGE_CHARS, whichever comes first. Memory per request
// stays bounded (10,000 events of 16 KiB details would otherwise be one 160 MB string); a client
// that follows the returned position simply gets a shorter page.
import type { EventRow } from './event-store.js';

/** Upper bound on a page's JSON, in characters (about 8 MiB of ASCII). One event always fits. */
export const MAX_PAGE_CHARS = 8 * 1024 * 1024;
const CHUNK_ROWS = 1000;

export interface EventPage {
  /** The events, serialized and comma-joined: wrap in [ ] to make the array. */
  json: string;
  count: number;
  /** The last event on the page: where the next page starts. */
  last: EventRow | undefined;
  /** Whether events follow this page. */
  more: boolean;
}

/**
 * `readRows(after, n)` reads up to n rows that follow `after` (undefined: from the page's start);
 * `toJson` serializes one.
 */
export async function readEventPage(
  limit: number,
  readRows: (after: EventRow | undefined, n: number) => Promise<EventRow[]>,
  toJson: (row: EventRow) => string,
): Promise<EventPage> {
  const parts: string[] = [];
  let chars = 0;
  let last: EventRow | undefined;
  const page = (more: boolean): EventPage => ({ json: parts.join(','), count: parts.length, last, more });
  while (parts.length < limit) {
    const want = Math.min(CHUNK_ROWS, limit - parts.length);
    const rows = await readRows(last, want + 1); // one extra row tells whether more follow
    for (const row of rows.slice(0, want)) {
      const json = toJson(row);
      if (parts.length > 0 && chars + json.length > MAX_PAGE_CHARS) return page(true);
      parts.push(json);
      chars += json.length + 1;
      last = row;
    }
    if (rows.length <= want) return page(false);
  }
  return page(true);
}
