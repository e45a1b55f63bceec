// Runs the bench's row groups and reports them as one table (report.js). Each group starts its own
// processes over fresh temp databases, so any one of them can run alone.
//
// A group is { names, run(settings, wanted, context), engine? }: `names` are what --only selects; a
// group that covers several names (they share processes or runs) gets the selected ones as `wanted`
// and returns { rows, details }. A failing reference (errors or a wrong answer) throws BenchFailure:
// the rows measured so far are still printed and written, and the process exits 1.
//
// A group with engine 'postgres' runs only with --postgres, and with --postgres only those run, on
// one PostgreSQL server (postgres-server.js) started before the first of them and stopped at the
// end however the run ends; they get it as `context.postgres` and give each service a database of
// its own on it.
import { loadavg } from 'node:os';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { SQLITE_PRAGMAS } from '../services/common/dist/index.js';
import { gitRevision, renderTable, writeResults } from './report.js';

export class BenchFailure extends Error {
  name = 'BenchFailure';
}

/** Throws BenchFailure if a reference's load runs saw non-2xx answers, errors or timeouts. */
export function assertReferenceClean(name, results) {
  const bad = results.reduce((n, r) => n + r.non2xx + r.errors, 0);
  if (bad > 0) throw new BenchFailure(`the ${name} reference answered ${bad} requests with non-2xx, errors or timeouts`);
}

/** One progress line on stderr (stdout carries the table). */
export const progress = (text) => process.stderr.write(`${text}\n`);

const usage = (groups) => `Usage: node bench/run.js [--postgres] [--runs 5] [--duration 10] [--probes 300] [--only <group>[,<group>...]]
  --postgres  the PostgreSQL groups instead of the others, on a throwaway server the bench starts and stops
  --runs      runs of every figure and of its reference, alternating; figures are their medians (at least 5 for a result)
  --duration  seconds of each load run
  --probes    freshness probes per run
  --only      run only these groups, in the bench's own order: ${namesOf(groups, false).join(', ')};
              with --postgres: ${namesOf(groups, true).join(', ')}
`;

const isPostgres = (group) => group.engine === 'postgres';
const namesOf = (groups, postgres) => groups.filter((g) => isPostgres(g) === postgres).flatMap((g) => g.names);

export async function runBench(allGroups, argv = process.argv.slice(2)) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string', default: '5' },
        duration: { type: 'string', default: '10' },
        probes: { type: 'string', default: '300' },
        only: { type: 'string', multiple: true },
        postgres: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${err.message}\n${usage(allGroups)}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(usage(allGroups));
    return;
  }
  const groups = allGroups.filter((g) => isPostgres(g) === values.postgres);
  const names = groups.flatMap((g) => g.names);
  const selected = new Set(
    values.only
      ? values.only
          .flatMap((v) => v.split(','))
          .map((v) => v.trim())
          .filter(Boolean)
      : names,
  );
  const unknown = [...selected].filter((name) => !names.includes(name));
  const settings = {
    runs: Number(values.runs),
    duration_s: Number(values.duration),
    probes: Number(values.probes),
    groups: names.filter((name) => selected.has(name)),
    services: 'defaults: telemetry on without an exporter, LOG_LEVEL info',
    // With --postgres, the server's version and settings once it runs.
    ...(values.postgres ? { database: 'postgres' } : { database: 'sqlite', sqlite_pragmas: SQLITE_PRAGMAS }),
  };
  if (unknown.length > 0 || !(settings.runs >= 1) || !(settings.duration_s > 0) || !(settings.probes >= 1)) {
    process.stderr.write(
      `${unknown.length ? `Unknown group${values.postgres ? ' with --postgres' : ''}: ${unknown.join(', ')}\n` : 'Bad --runs, --duration or --probes\n'}${usage(allGroups)}`,
    );
    process.exit(2);
  }
  if (settings.runs < 5) progress(`note: ${settings.runs} run(s) per figure; a result takes the median of at least 5`);

  const startedAt = new Date();
  const loadAtStart = loadavg();
  const revision = gitRevision();
  const rows = [];
  const details = {};
  let error;
  const context = {};
  try {
    if (values.postgres) {
      const { describeServer, startBenchPostgres } = await import('./postgres-server.js');
      context.postgres = await startBenchPostgres();
      settings.postgres = context.postgres.about;
      progress(`PostgreSQL server: ${describeServer(context.postgres.about)}`);
    }
    for (const group of groups) {
      const wanted = group.names.filter((name) => selected.has(name));
      if (wanted.length === 0) continue;
      progress(`== ${wanted.join(' + ')}`);
      try {
        const out = await group.run(settings, new Set(wanted), context);
        rows.push(...out.rows);
        details[wanted.join('+')] = out.details;
      } catch (err) {
        error = err instanceof BenchFailure ? err.message : String(err.stack ?? err);
        progress(`FAILED (${wanted.join(' + ')}): ${error}`);
        break;
      }
    }
  } catch (err) {
    error = String(err.stack ?? err);
    progress(`FAILED (starting PostgreSQL): ${error}`);
  } finally {
    await context.postgres?.stop();
  }
  if (rows.length > 0) console.log(`\n${renderTable(rows)}\n`);
  const path = writeResults({ startedAt, loadAtStart, revision, settings, rows, details, error });
  progress(`results: ${relative(process.cwd(), path)}`);
  // Autocannon and fetch may keep sockets alive a while; the report is complete.
  process.exit(error ? 1 : 0);
}
