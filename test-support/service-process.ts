// Starts a built service as a real child process on a random port over its own temp database,
// the way production starts it (node --import instrumentation, then main). Tests talk to it over
// HTTP, and may kill it (SIGKILL) or stop it (SIGTERM) and start it again on the same files.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../..');

export type ServiceName = 'learning-events' | 'concept-mastery';

// The services still running when this test process exits (a test that failed before stopping
// its own): killed then, rather than left running with the test's temp files.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ServiceProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Every stdout/stderr line so far. */
  output: string[];
  /** Resolves with the exit code (or the signal name) once the process ended. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

export function makeTempDir(prefix = 'la-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startService(
  service: ServiceName,
  env: Record<string, string>,
  /** `wrapper`: a command the service runs under, e.g. strace with its options. */
  options: { port?: number; timeoutMs?: number; wrapper?: string[] } = {},
): Promise<ServiceProcess> {
  const command = [...(options.wrapper ?? []), process.execPath, '--import', './dist/src/instrumentation.js', './dist/src/main.js'];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: join(repoRoot, 'services', service),
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(options.port ?? 0), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  running.add(child);
  const exited = new Promise<number | string>((done) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      done(code ?? signal ?? -1);
    }),
  );
  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${service} did not start:\n${output.join('\n')}`)), options.timeoutMs ?? 20_000);
    // A command that cannot be run (a wrapper such as strace not installed) emits 'error', not 'exit'.
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = err.code === 'ENOENT' ? ` (${command[0]} is not installed: scripts/install-test-tools.sh installs it)` : '';
      fail(new Error(`${service} could not be started with ${command[0]}: ${err.message}${hint}`));
    });
    const onLine = (line: string) => {
      output.push(line);
      if (!line.includes('"msg":"listening"')) return;
      clearTimeout(timer);
      done((JSON.parse(line) as { port: number }).port);
    };
    splitLines(child.stdout, onLine);
    splitLines(child.stderr, (line) => output.push(line));
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`${service} exited (${code}) before listening:\n${output.join('\n')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void) {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  });
}

/** Runs a built service script (e.g. migrate) to completion and returns its exit code and output. */
export function runServiceScript(
  service: ServiceName,
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [script], {
    cwd: join(repoRoot, 'services', service),
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((done) => child.once('exit', (code) => done({ code, output })));
}
