// The bench's one report: a table of every figure (figure, result, reference, ratio, target, met)
// on stdout, and the same rows with each run's raw figures and the machine as JSON under
// bench/results/. Also the number formats the rows use.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const format = {
  int: (n) => Math.round(n).toLocaleString('en-US'),
  ms: (n) => `${(n >= 100 ? Math.round(n) : Math.round(n * 10) / 10).toLocaleString('en-US')} ms`,
  percent: (ratio) => `${(ratio * 100).toFixed(1)} %`,
  times: (ratio) => `${ratio.toFixed(2)}x`,
  mib: (n) => `${n >= 0 ? '+' : ''}${n.toFixed(1)} MiB`,
  mb: (bytes) => `${(bytes / 1e6).toFixed(1)} MB`,
};

/** Rounds every number in a JSON-able value to at most 3 decimals, for a readable results file. */
function rounded(value) {
  if (typeof value === 'number') return Number.isInteger(value) ? value : Math.round(value * 1000) / 1000;
  if (Array.isArray(value)) return value.map(rounded);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]));
  return value;
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

/** The checked-out commit; read when the bench starts, since others may commit while it runs. */
export function gitRevision() {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const changed = execFileSync('git', ['status', '--porcelain'], {
      cwd: here,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return { commit, uncommitted_changes: changed.length > 0 };
  } catch {
    return undefined;
  }
}

const COLUMNS = ['figure', 'result', 'reference', 'ratio', 'target', 'met'];
const metText = (met) => (met === true ? 'yes' : met === false ? 'no' : '-');

/** The rows as a Markdown table, columns padded to line up in a terminal. */
export function renderTable(rows) {
  const cells = rows.map((row) => [row.figure, row.result, row.reference, row.ratio, row.target, metText(row.met)]);
  const widths = COLUMNS.map((name, i) => Math.max(name.length, ...cells.map((c) => c[i].length)));
  const line = (values) => `| ${values.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [line(COLUMNS), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** Writes the report to bench/results/<ISO time>.json (colons as dashes) and returns the path. */
export function writeResults({ startedAt, loadAtStart, revision, settings, rows, details, error }) {
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${startedAt.toISOString().replace(/:/g, '-')}.json`);
  const report = {
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    // Other work on the machine shows here: the 1, 5 and 15 minute load averages.
    machine: { ...machine(), load_average_at_start: loadAtStart, load_average_at_end: os.loadavg() },
    revision,
    settings,
    rows: rows.map(({ figure, result, reference, ratio, target, met, values }) => ({
      figure,
      result,
      reference,
      ratio,
      target,
      met: met === undefined ? null : metText(met),
      values,
    })),
    details,
    ...(error ? { error } : {}),
  };
  writeFileSync(path, `${JSON.stringify(rounded(report), null, 2)}\n`);
  return path;
}
