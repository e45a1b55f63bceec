// Starts the built services and the bench's own reference servers as child processes, the way
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

/**
 * Spawns `args` with node in `cwd`; resolves once it logs {"msg":"listening","port":N,...} (the
 * rest of that line is returned as `info`). Other output is dropped.
 */
function startListening(args, cwd, env) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((done, fail) => {
    const lines = createInterface({ input: child.stdout });
    const failed = (code) => fail(new Error(`${args.join(' ')} exited with ${code} before listening`));
    child.once('exit', failed);
    lines.on('line', (line) => {
      if (!line.includes('"msg":"listening"')) return;
      const info = JSON.parse(line);
      // From here on the output is drained unread: parsing thousands of request logs a second
      // would load the process that runs the load generator.
      lines.close();
      child.stdout.resume();
      child.off('exit', failed);
      done({
        url: `http://127.0.0.1:${info.port}`,
        pid: child.pid,
        info,
        stop: () =>
          new Promise((stopped) => {
            if (child.exitCode !== null || child.signalCode !== null) return stopped();
            child.once('exit', stopped);
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

export function startService(service, env) {
  return startListening(['--import', './dist/src/instrumentation.js', './dist/src/main.js'], join(repoRoot, 'services', service), env);
}

/** One of the bench's reference servers: `echo-server.js`, `koa-echo-server.js`, `read-floor.js`. */
export function startBenchServer(file, env = {}) {
  return startListening([join(repoRoot, 'bench', file)], repoRoot, env);
}

/** Resident memory of a process right now, in MiB (Linux). */
export function residentMiB(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** Processes and temp dirs of one group, stopped and removed together however the group ends. */
export class Stack {
  #stops = [];

  async service(name, env) {
    const service = await startService(name, env);
    this.#stops.push(() => service.stop());
    return service;
  }

  /** `count` processes of one service with the same env (replicas on one database), started one after another. */
  async replicas(name, count, env) {
    const started = [];
    for (let i = 0; i < count; i += 1) started.push(await this.service(name, env));
    return started;
  }

  async benchServer(file, env) {
    const server = await startBenchServer(file, env);
    this.#stops.push(() => server.stop());
    return server;
  }

  tempDir() {
    const dir = tempDir();
    this.#stops.push(async () => dir.remove());
    return dir.path;
  }

  /** Stops the processes, newest first, then removes the temp dirs they used. */
  async close() {
    for (const stop of this.#stops.reverse()) await stop();
    this.#stops = [];
  }
}
