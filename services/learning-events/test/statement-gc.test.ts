// better-sqlite3 12 aborted Node 24 processes when garbage collection finalized statements of a
// closed database (`Assertion failed: (env) != nullptr`). The fixture drives the Logger's own
// database code, writer thread included, through open, write, read, close and forced collections.
import { fileURLToPath } from 'node:url';
import { runNodeScript } from '../../../test-support/node-script.js';

const fixture = fileURLToPath(new URL('./fixtures/statement-gc.mjs', import.meta.url));

test('statements of closed databases are collected without crashing the process, writer thread included', async () => {
  const rounds = 20;
  const result = await runNodeScript(fixture, [String(rounds)], ['--expose-gc']);
  expect({ signal: result.signal, code: result.code, stderr: result.stderr }).toEqual({ signal: null, code: 0, stderr: '' });
  expect(JSON.parse(result.stdout)).toEqual({ rounds, stored: rounds * 1530, read: rounds * 1030 });
});
