// The read floor for GET /events/{user}: SQLite alone answering the same timeline, to set beside
// the Logger's. It holds a copy of the Logger's events (same rows, seqs and times) in a database
// made by the Logger's own migrations and opened with its pragmas; it reads a student's events
// with the statements that the Logger's own timeline query (listTimelinePage) sends, so the same
// index, order and pages of 1,000 rows, but prepared once on the driver; it serializes each row
// with the Logger's own eventRowJson (as storage-floor.js uses the Logger's own insert), and
// streams the JSON array from a bare node:http server. No knex at request time, no Koa, no
// validation, logs, metrics or tracing.
//
// Run as a child process (see processes.js): SOURCE_DATABASE is the Logger's SQLite file whose events
// are copied at start.
import { createServer } from 'node:http';
import Database from 'better-sqlite3';
import { openDatabase, migrateToLatest, SQLITE_PRAGMAS } from '../services/common/dist/index.js';
import { migrations } from '../services/learning-events/dist/migrations/index.js';
import { eventRowJson, headSeq, listTimelinePage } from '../services/learning-events/dist/src/data/event-store.js';
import { tempDir } from './processes.js';

/** Rows per page, as the Logger's stream reads them (STREAM_PAGE in its events routes). */
const PAGE_ROWS = 1000;
const COLUMNS = 'seq, event_id, user_id, event_type, concept_id, event_details, occurred_at, recorded_at';

const source = process.env.SOURCE_DATABASE;
if (!source) throw new Error('SOURCE_DATABASE (the Logger database to copy) is required');

/** The statements that `query(knex)` sends through knex, with their bindings. */
async function capturedQueries(knex, query) {
  const sent = [];
  const onQuery = (q) => sent.push({ sql: q.sql, bindings: q.bindings ?? [] });
  knex.on('query', onQuery);
  try {
    await query(knex);
  } finally {
    knex.off('query', onQuery);
  }
  return sent;
}

/** The one statement that `query(knex)` sends through knex, with its bindings. */
async function capturedQuery(knex, query) {
  const sent = await capturedQueries(knex, query);
  if (sent.length !== 1) throw new Error(`expected one statement from the Logger's query, saw ${sent.length}`);
  return sent[0];
}

const dir = tempDir();
const knex = openDatabase(`sqlite:${dir.path}/read-floor.db`);
await migrateToLatest(knex, migrations);
// Distinct probe values locate each binding of the Logger's statements, whatever their order.
const PROBE = { user: 'read-floor-probe-user', snapshot: 987_654_321, occurredAt: 876_543_219, seq: 765_432_198, limit: 123_457 };
const firstPageQuery = await capturedQuery(knex, (db) =>
  listTimelinePage(db, { userId: PROBE.user }, { snapshotSeq: PROBE.snapshot }, PROBE.limit),
);
const nextPageQuery = await capturedQuery(knex, (db) =>
  listTimelinePage(
    db,
    { userId: PROBE.user },
    { snapshotSeq: PROBE.snapshot, afterOccurredAt: PROBE.occurredAt, afterSeq: PROBE.seq },
    PROBE.limit,
  ),
);
// The head is the highest seq of events and of erasure markers: one statement each.
const headQueries = await capturedQueries(knex, headSeq);
await knex.destroy();

const db = new Database(`${dir.path}/read-floor.db`);
for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
db.prepare('attach database ? as source').run(source);
db.exec(`insert into main.events (${COLUMNS}) select ${COLUMNS} from source.events order by seq`);
db.exec('detach database source');

/** A page statement of the Logger's, prepared, with its bindings mapped from the probe values. */
function pageStatement({ sql, bindings }) {
  const statement = db.prepare(sql);
  const slots = bindings.map((value) => {
    const slot = Object.keys(PROBE).find((name) => PROBE[name] === value);
    if (slot === undefined) throw new Error(`unexpected binding in the Logger's timeline query: ${JSON.stringify(value)}`);
    return slot;
  });
  const bind = (position) => slots.map((slot) => position[slot]);
  return {
    sql,
    all: (position) => statement.all(bind(position)),
    plan: (position) => db.prepare(`explain query plan ${sql}`).all(bind(position)),
  };
}

const firstPage = pageStatement(firstPageQuery);
const nextPage = pageStatement(nextPageQuery);
const heads = headQueries.map(({ sql, bindings }) => ({ statement: db.prepare(sql).pluck(), bindings }));
const anyPosition = { user: 'anyone', snapshot: 0, occurredAt: 0, seq: 0, limit: PAGE_ROWS };
const plan = [...firstPage.plan(anyPosition), ...nextPage.plan(anyPosition)].map((step) => step.detail).join('; ');

/** Resolves once `res` can take more (or is gone). */
const writable = (res) =>
  new Promise((resume) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resume();
    };
    res.on('drain', done);
    res.on('close', done);
  });

async function streamTimeline(res, user) {
  const snapshot = Math.max(...heads.map(({ statement, bindings }) => Number(statement.get(...bindings) ?? 0)));
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  let separator = '[';
  let rows = firstPage.all({ user, snapshot, limit: PAGE_ROWS });
  while (rows.length === PAGE_ROWS) {
    const flowing = res.write(separator + rows.map(eventRowJson).join(','));
    separator = ',';
    if (!flowing) await writable(res);
    if (res.destroyed) return; // the client went away
    const last = rows[rows.length - 1];
    rows = nextPage.all({ user, snapshot, occurredAt: last.occurred_at, seq: last.seq, limit: PAGE_ROWS });
  }
  res.end(rows.length > 0 ? `${separator}${rows.map(eventRowJson).join(',')}]` : separator === '[' ? '[]' : ']');
}

const server = createServer((req, res) => {
  const match = /^\/events\/([^/?]+)$/.exec(req.url ?? '');
  if (req.method !== 'GET' || !match) {
    res.writeHead(404).end();
    return;
  }
  streamTimeline(res, decodeURIComponent(match[1])).catch((err) => {
    console.error(err);
    res.destroy(err);
  });
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const events = db.prepare('select count(*) from events').pluck().get();
  console.log(JSON.stringify({ msg: 'listening', port: server.address().port, events, plan, sql: [firstPage.sql, nextPage.sql] }));
});
process.on('SIGTERM', () =>
  server.close(() => {
    db.close();
    dir.remove();
    process.exit(0);
  }),
);
