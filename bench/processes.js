// Starts the built services (and the echo ceiling) as child processes for benchmarks, the way
// production starts them, on free ports over temp databases.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../..');

export function tempDir() {
  const path = mkdtempSync(join(tmpdir(), 'la-bench-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Spawns `args` with node in `cwd`; resolves once it logs {"msg":"listening","port":N}. Other output is dropped. */
function startListening(args, cwd, env) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((done, fail) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (!line.includes('"msg":"listening"')) return;
      const { port } = JSON.parse(line);
      // From here on the output is drained unread: parsing thousands of request logs a second
      // would load the process that runs the load generator.
      lines.close();
      child.stdout.resume();
      done({
        url: `http://127.0.0.1:${port}`,
        pid: child.pid,
        stop: () =>
          new Promise((stopped) => {
            child.once('exit', stopped);
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => fail(new Error(`${args.join(' ')} exited with ${code} before listening`)));
  });
}

export function startService(service, env) {
  return startListening(
    ['--import', './dist/src/instrumentation.js', './dist/src/main.js'],
    join(repoRoot, 'services', service),
    env,
  );
}

/** `echo-server.js` (bare Node http) or `koa-echo-server.js` (the same through the services' framework). */
export function startEchoServer(file = 'echo-server.js') {
  return startListening([join(repoRoot, 'bench', file)], repoRoot, {});
}

/** Resident memory of a process right now, in MiB (Linux). */
export function residentMiB(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}
