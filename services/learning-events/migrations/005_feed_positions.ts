// Feed positions (see feedPosition in common): every event and erasure marker records the number of
// the transaction that wrote it. On PostgreSQL that is pg_current_xact_id(), which every insert gets
// by default, whoever writes it; on SQLite, whose one writer commits in seq order, it stays 0, as
// it does for every row stored before this migration (they were all written in seq order).
// On PostgreSQL each insert also notifies the channel the Logger's replicas listen on, delivered at
// commit: the wake-up of long-polling feed requests on every replica, never the data itself.
import { engineOf, type Knex, type Migration } from '@learning-analytics/common';

export const COMMIT_CHANNEL = 'learning_events_committed';

export const feedPositions: Migration = {
  name: '005_feed_positions',
  async up(db: Knex) {
    for (const table of ['events', 'erasures']) {
      await db.schema.alterTable(table, (t) => {
        t.bigInteger('txid').notNullable().defaultTo(0);
        t.index(['txid', 'seq'], `${table}_feed_position`);
      });
    }
    if (engineOf(db) !== 'postgres') return;
    await db.raw(`
      create function notify_learning_events_committed() returns trigger language plpgsql as $$
      begin
        perform pg_notify('${COMMIT_CHANNEL}', '');
        return null;
      end $$`);
    for (const table of ['events', 'erasures']) {
      await db.raw('alter table ?? alter column txid set default (pg_current_xact_id()::text::bigint)', [table]);
      await db.raw(
        `create trigger ${table}_notify_committed after insert on ?? for each statement execute function notify_learning_events_committed()`,
        [table],
      );
    }
  },
  async down() {},
};
