// A throwaway PostgreSQL server for the deploy tests: the services' own harness
// (test-support/postgres.ts: initdb into a temp dir, a random port, nothing left behind), run in
// a Node process of its own, because Node strips its TypeScript types and jest's module loader
// does not. Resolves with the superuser's URL and a stop().
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './repository.mjs';

const harness = pathToFileURL(join(repoRoot, 'test-support', 'postgres.ts')).href;
// The server stops when the test closes the child's stdin (or, if the test process dies, when
// the harness's watchdog sees it go).
const program = `
import { startPostgres } from ${JSON.stringify(harness)};
const server = await startPostgres();
process.stdout.write(server.url('postgres') + '\\n');
process.stdin.on('end', async () => {
  await server.stop();
  process.exit(0);
});
process.stdin.resume();
`;

/** @returns {Promise<{ url: string, stop: () => Promise<void> }>} */
export function startPostgresServer() {
  const child = spawn(process.execPath, ['--input-type=module', '--eval', program], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise((done) => child.once('exit', done));
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!stdout.includes('\n')) return;
      const url = stdout.slice(0, stdout.indexOf('\n'));
      resolve({
        url,
        stop: async () => {
          child.stdin.end();
          await exited;
        },
      });
    });
    exited.then((code) => reject(new Error(`the PostgreSQL harness exited (${code}) before its server was up:\n${stderr}`)));
  });
}
