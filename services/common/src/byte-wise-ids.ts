// Ids compare and sort byte by byte on both engines, so every listing is ordered alike. SQLite's
// default collation (BINARY) already does; a PostgreSQL database's default follows its locale,
// which orders 'a' < 'B' < 'b' under en_US and differs between servers. Its UTF-8 text in the C
// collation sorts by code point, which is byte order.
import type { Knex } from 'knex';
import { engineOf } from './db.js';

/** Migration step: these varchar columns of `table` (name -> length) use the C collation on PostgreSQL; SQLite is unchanged. */
export async function collateByteWise(db: Knex, table: string, columns: Record<string, number>): Promise<void> {
  if (engineOf(db) !== 'postgres') return;
  for (const [column, length] of Object.entries(columns)) {
    await db.raw(`alter table ?? alter column ?? type varchar(${length}) collate "C"`, [table, column]);
  }
}
