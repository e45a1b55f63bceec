// A throwaway PostgreSQL server for the tests: initdb into a fresh temp dir, postgres on 127.0.0.1
// at a random port, databases made on demand, and nothing left behind when it stops or when the
// process that started it ends, however it ends (a watchdog outside the process removes it).
//
// Loaded both by jest (through swc) and by Node itself (the jest global setup is plain .mjs, and
// Node strips the types), so it imports nothing but Node's modules and pg, and its TypeScript is
// only the erasable kind (no enums, no parameter properties).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  chownSync,
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  /** A URL for `database` on this server, as the superuser `postgres`, password included. */
  url(database: string): string;
  /** Makes a database named `name` (by default a unique name) and returns its URL (user and password included). */
  createDatabase(name?: string): Promise<string>;
  /**
   * Immediate shutdown (SIGQUIT), SIGKILL if that takes too long, then the temp dir is removed.
   * Idempotent. Not a fast shutdown (SIGINT): its checkpoint fsyncs every file of every database
   * made (about 300 each), seconds for a dozen databases, all of it deleted a moment later.
   */
  stop(): Promise<void>;
  /** The postmaster's process id. */
  readonly pid: number;
  readonly port: number;
  /** The temp dir holding the cluster (data/), the socket and the server's log (postgres.log). */
  readonly dir: string;
}

const superuser = 'postgres';
/** How long postgres may take to accept connections, and an immediate shutdown to end, before the harness gives up. */
const startTimeoutMs = 30_000;
const stopTimeoutMs = 10_000;

/** Initialises a cluster in a fresh temp dir and starts a server on it: 1 to 2 s, nearly all of it initdb. */
export async function startPostgres(): Promise<PostgresServer> {
  const bindir = findServerBinaries();
  const owner = unprivilegedOwner();
  const dir = mkdtempSync(join(tmpdir(), 'la-postgres-'));
  // Started before anything else, so there is no moment at which the dir exists unwatched.
  const watchdog = startWatchdog(dir);
  try {
    if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
    // Characters that must be percent-encoded in a URL, so a URL that loses or mangles the password
    // on its way to pg fails authentication (host connections use scram-sha-256, not trust).
    const password = `pw:@/%#?${randomBytes(8).toString('hex')}`;
    await initCluster(bindir, owner, dir, password);
    return await startServer(bindir, owner, dir, password, watchdog);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    watchdog.stdin.end('stopped\n');
    throw err;
  }
}

/**
 * Makes a database on the server at `adminUrl` (a superuser's URL, e.g. TEST_POSTGRES_URL) and
 * returns its URL: the same user, password and host, the new database's name.
 */
export async function createDatabase(adminUrl: string, name = uniqueDatabaseName()): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/** The superuser's URL of this jest run's server (see postgres-global-setup.mjs), or an error saying how to get one. */
export function testPostgresUrl(): string {
  const url = process.env.TEST_POSTGRES_URL;
  if (url) return url;
  throw new Error(
    'TEST_POSTGRES_URL is not set: run this test in a jest project whose globalSetup is test-support/postgres-global-setup.mjs ' +
      '(and globalTeardown test-support/postgres-global-teardown.mjs), or set it to a superuser URL of a PostgreSQL server',
  );
}

let databases = 0;
function uniqueDatabaseName(): string {
  databases += 1;
  return `test_${process.pid}_${databases}_${randomBytes(4).toString('hex')}`;
}

/** The directory with initdb and postgres: pg_config's, else the newest /usr/lib/postgresql/<version>/bin. */
function findServerBinaries(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no pg_config on PATH
  }
  // Debian's pg_config (from libpq-dev) names the server's bindir even when no server is installed.
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').filter((entry) => /^\d+$/.test(entry));
  } catch {
    // no Debian-style PostgreSQL installation
  }
  versions.sort((a, b) => Number(b) - Number(a));
  candidates.push(...versions.map((version) => `/usr/lib/postgresql/${version}/bin`));
  const found = candidates.find((dir) => ['initdb', 'postgres'].every((binary) => isExecutable(join(dir, binary))));
  if (found !== undefined) return found;
  throw new Error(
    `PostgreSQL server binaries (initdb, postgres) not found (looked in ${candidates.join(', ') || 'pg_config --bindir and /usr/lib/postgresql/*/bin'}): ` +
      'install the Debian package postgresql (scripts/install-test-tools.sh does), or put the pg_config of a PostgreSQL installation on PATH',
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

interface Owner {
  name: string;
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: as root, the server runs as `postgres` (Debian's package makes it) or `nobody`. */
function unprivilegedOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag: string) =>
        Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { name, uid: id('-u'), gid: id('-g') };
    } catch {
      // no such user
    }
  }
  throw new Error('running as root, and PostgreSQL refuses to: neither user postgres nor nobody exists to run it as');
}

/** A command line run as `owner` (setpriv execs, so the process id is the command's own). */
function asOwner(owner: Owner | undefined, command: string[]): string[] {
  if (owner === undefined) return command;
  return ['setpriv', `--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--init-groups', '--', ...command];
}

/** What the server's processes see: nothing of the caller's PG* variables, a fixed locale and zone. */
function serverEnvironment(dir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: dir, LC_ALL: 'C', TZ: 'UTC' };
}

async function initCluster(bindir: string, owner: Owner | undefined, dir: string, password: string): Promise<void> {
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner !== undefined) chownSync(pwfile, owner.uid, owner.gid);
  const command = asOwner(owner, [
    join(bindir, 'initdb'),
    `--pgdata=${join(dir, 'data')}`,
    `--username=${superuser}`,
    `--pwfile=${pwfile}`,
    // Trust on the socket only (nothing here uses it); TCP, which the services use, checks the password.
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '--encoding=UTF8',
    '--locale=C',
    // initdb's own final fsync of the new cluster; the server's fsync stays on. A crash of the
    // machine is the only thing this could lose, and the cluster would not outlive that anyway.
    '--no-sync',
  ]);
  await new Promise<void>((done, fail) => {
    execFile(command[0]!, command.slice(1), { env: serverEnvironment(dir) }, (err, stdout, stderr) => {
      if (err) fail(new Error(`initdb failed (${err.message.split('\n')[0]}):\n${stdout}${stderr}`));
      else done();
    });
  });
  rmSync(pwfile);
}

async function startServer(
  bindir: string,
  owner: Owner | undefined,
  dir: string,
  password: string,
  watchdog: Watchdog,
): Promise<PostgresServer> {
  const logPath = join(dir, 'postgres.log');
  // Another process can take the free port between our probe and postgres's bind: try again then.
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const logStart = readLog(logPath).length;
    const log = openSync(logPath, 'a');
    const command = asOwner(owner, [
      join(bindir, 'postgres'),
      ...['-D', join(dir, 'data'), '-p', String(port), '-k', dir],
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'shared_buffers=32MB', '-c', 'max_connections=200', '-c', 'TimeZone=UTC'],
    ]);
    const child = spawn(command[0]!, command.slice(1), { env: serverEnvironment(dir), stdio: ['ignore', log, log] });
    closeSync(log);
    const pid = child.pid;
    const exited = new Promise<string>((done) => {
      child.once('exit', (code, signal) => done(signal ?? `exit code ${code}`));
      child.once('error', (err) => done(`not started: ${err.message}`));
    });
    if (pid === undefined) throw new Error(`postgres could not be started (${await exited})`);
    watchdog.stdin.write(`pid ${pid}\n`);
    // A forgotten stop() must not keep the process alive: the exit hook and the watchdog clean up.
    child.unref();
    const onExit = () => {
      try {
        process.kill(pid, 'SIGQUIT'); // immediate shutdown; the watchdog waits for it and removes the dir
      } catch {
        // already gone
      }
    };
    process.once('exit', onExit);
    const url = (database: string) =>
      `postgres://${superuser}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    const ended = await waitUntilAccepting(url('postgres'), exited);
    if (ended === undefined) {
      let stopping: Promise<void> | undefined;
      return {
        url,
        createDatabase: (name?: string) => createDatabase(url('postgres'), name),
        pid,
        port,
        dir,
        stop: () =>
          (stopping ??= (async () => {
            process.off('exit', onExit);
            await shutDown(child, exited);
            rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
            watchdog.stdin.end('stopped\n');
          })()),
      };
    }
    process.off('exit', onExit);
    await shutDown(child, exited);
    const output = readLog(logPath).slice(logStart);
    if (attempt < 5 && /could not bind|Address already in use/.test(output)) continue;
    throw new Error(`postgres did not start (${ended}); its log:\n${output}`);
  }
}

/** Immediate shutdown, then SIGKILL if it takes too long. The timer also keeps an otherwise idle process alive till then. */
async function shutDown(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGQUIT');
  const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
  await exited;
  clearTimeout(killer);
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Resolves once the server accepts a password connection over TCP, or with how it ended when it did not. */
async function waitUntilAccepting(url: string, exited: Promise<string>): Promise<string | undefined> {
  let ended: string | undefined;
  void exited.then((how) => (ended = how));
  const deadline = Date.now() + startTimeoutMs;
  let lastError = '';
  while (ended === undefined) {
    if (Date.now() > deadline) return `not accepting connections after ${startTimeoutMs} ms: ${lastError}`;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    // An error after connect (the server shutting down) must not become an uncaught 'error' event.
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (err) {
      lastError = (err as Error).message; // refused until it listens, then "starting up" until it is ready
    } finally {
      await client.end().catch(() => {});
    }
    await new Promise((next) => setTimeout(next, 20));
  }
  return ended;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

type Watchdog = ChildProcess & { stdin: Socket };

// Runs in its own session, so neither a Ctrl-C in the terminal nor the death of the process that
// started it ends it. It reads "pid N" (the postmaster) and "stopped" (stop() cleaned up: nothing
// to do); the end of its input means that process is gone without stopping the server (killed,
// crashed, exited): it shuts the server down (immediate shutdown, which also removes the shared
// memory, then SIGKILL) and removes the dir. It checks the pid still is our postmaster first.
const watchdogScript = `
dir=$1 pid=
ours() { [ -n "$pid" ] && tr '\\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/data"; }
while read -r word value; do
  case $word in
    pid) pid=$value ;;
    stopped) exit 0 ;;
  esac
done
if ours; then
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while ours && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  ours && kill -KILL "$pid" 2>/dev/null
  sleep 0.2
fi
rm -rf -- "$dir"
`;

function startWatchdog(dir: string): Watchdog {
  const watchdog = spawn('sh', ['-c', watchdogScript, 'postgres-watchdog', dir], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.unref();
  const stdin = watchdog.stdin as Socket;
  stdin.unref();
  // If the watchdog itself died, writes to it fail: the server still works, and stop() still cleans up.
  stdin.on('error', () => {});
  return watchdog as Watchdog;
}
