// The throwaway PostgreSQL server the tests start for themselves (test-support/postgres.ts) and the
// jest global setup that shares one per run: databases reached through knex's pg client by the
// URLs handed out, password included; separate databases; and no process or dir left behind,
// whether the server is stopped, or the process that started it exits or is killed without
// stopping it.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import knex, { type Knex } from 'knex';
import { eventually } from '../../../test-support/polling.js';
import { createDatabase, startPostgres, testPostgresUrl, type PostgresServer } from '../../../test-support/postgres.js';

const testSupport = resolve(fileURLToPath(import.meta.url), '../../../../test-support');

let server: PostgresServer;
const opened: Knex[] = [];

beforeAll(async () => {
  server = await startPostgres();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.destroy()));
});
afterAll(async () => {
  await server?.stop();
});

function connect(url: string, options: Knex.Config = {}): Knex {
  const db = knex({ client: 'pg', connection: url, pool: { min: 0, max: 2 }, ...options });
  opened.push(db);
  return db;
}

/** Running and not a zombie: a postmaster whose parent died may wait for a reaper that never comes. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Processes whose command line names `dir`: the postmaster (its -D) and the watchdog. */
function processesNaming(dir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false; // it ended while we looked
      }
    })
    .map(Number);
}

function children(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

test('two databases made on one server are separate, each reached by its own URL with the password', async () => {
  const urls = await Promise.all([server.createDatabase(), server.createDatabase()]);
  expect(new Set(urls).size).toBe(2);
  for (const url of urls) expect(new URL(url)).toMatchObject({ protocol: 'postgres:', username: 'postgres', hostname: '127.0.0.1' });
  expect(new URL(urls[0]).password).not.toBe('');
  const [first, second] = urls.map((url) => connect(url)) as [Knex, Knex];

  const version = await first.raw<{ rows: { version: string }[] }>('select version()');
  expect(version.rows[0]!.version).toMatch(/^PostgreSQL \d+/);
  const names = await Promise.all([first, second].map((db) => db.raw<{ rows: { name: string }[] }>('select current_database() as name')));
  expect(names.map((answer) => answer.rows[0]!.name)).toEqual(urls.map((url) => new URL(url).pathname.slice(1)));

  await first.schema.createTable('events', (table) => {
    table.integer('id').primary();
    table.text('body').notNullable();
  });
  await first('events').insert({ id: 1, body: 'in the first' });
  expect(await second.schema.hasTable('events')).toBe(false);
  // The same table again, in the second: no clash, and neither sees the other's rows.
  await second.schema.createTable('events', (table) => {
    table.integer('id').primary();
    table.text('body').notNullable();
  });
  await second('events').insert([
    { id: 1, body: 'in the second' },
    { id: 2, body: 'in the second' },
  ]);
  expect(await first('events').select('id', 'body')).toEqual([{ id: 1, body: 'in the first' }]);
  expect(await second('events').count('* as n')).toEqual([{ n: '2' }]);
});

test('a URL with a wrong password is refused: connections over TCP check the password', async () => {
  const url = new URL(await server.createDatabase());
  url.password = 'not-the-password';
  // knex warns of every refused connection on the console: the assertion says it here.
  const refused = connect(url.toString(), { log: { warn: () => {} } });
  await expect(refused.raw('select 1')).rejects.toThrow(/password authentication failed for user "postgres"/);
});

test('createDatabase(adminUrl, name) makes the named database from the superuser URL alone (what TEST_POSTGRES_URL holds)', async () => {
  const url = await createDatabase(server.url('postgres'), 'named_by_the_test');
  expect(new URL(url).pathname).toBe('/named_by_the_test');
  const answer = await connect(url).raw<{ rows: { name: string }[] }>('select current_database() as name');
  expect(answer.rows[0]!.name).toBe('named_by_the_test');
  await expect(createDatabase(server.url('postgres'), 'named_by_the_test')).rejects.toThrow(/already exists/);
});

describe('the jest global setup', () => {
  const saved = process.env.TEST_POSTGRES_URL;
  const importHook = async (file: string) =>
    ((await import(pathToFileURL(`${testSupport}/${file}`).href)) as { default: () => Promise<void> }).default;
  afterEach(() => {
    if (saved === undefined) delete process.env.TEST_POSTGRES_URL;
    else process.env.TEST_POSTGRES_URL = saved;
  });

  test('starts one server, hands its URL to the tests in TEST_POSTGRES_URL, and the teardown stops it', async () => {
    delete process.env.TEST_POSTGRES_URL;
    expect(() => testPostgresUrl()).toThrow(/TEST_POSTGRES_URL is not set: .*postgres-global-setup\.mjs/);
    const [setup, teardown] = await Promise.all([importHook('postgres-global-setup.mjs'), importHook('postgres-global-teardown.mjs')]);
    await setup();
    const adminUrl = testPostgresUrl();
    expect(new URL(adminUrl).port).not.toBe(String(server.port));
    const db = connect(await createDatabase(adminUrl));
    await db.raw('select 1');
    await db.destroy();
    opened.splice(opened.indexOf(db), 1);

    await teardown();
    expect(process.env.TEST_POSTGRES_URL).toBeUndefined();
    await expect(createDatabase(adminUrl)).rejects.toThrow(/ECONNREFUSED/);
    await teardown(); // a second teardown (several projects name it) finds nothing to stop
  });

  test('uses a TEST_POSTGRES_URL that is set already, and starts and stops nothing', async () => {
    process.env.TEST_POSTGRES_URL = server.url('postgres');
    const [setup, teardown] = await Promise.all([importHook('postgres-global-setup.mjs'), importHook('postgres-global-teardown.mjs')]);
    await setup();
    expect(process.env.TEST_POSTGRES_URL).toBe(server.url('postgres'));
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('learning-analytics.test-postgres')]).toBeUndefined();
    await teardown();
    expect(running(server.pid)).toBe(true);
    await connect(await createDatabase(testPostgresUrl())).raw('select 1');
  });
});

test('stop() ends every process of the server and removes its dir', async () => {
  const own = await startPostgres();
  await connect(await own.createDatabase()).raw('select 1'); // a backend, too
  const processes = [own.pid, ...children(own.pid)];
  expect(processes.length).toBeGreaterThan(3); // checkpointer, background writer, walwriter, ...
  expect(existsSync(`${own.dir}/data/PG_VERSION`)).toBe(true);

  await Promise.all(opened.splice(0).map((db) => db.destroy()));
  await own.stop();
  expect(processes.filter(running)).toEqual([]);
  expect(existsSync(own.dir)).toBe(false);
  await eventually(`no process naming ${own.dir} (the watchdog included)`, () => processesNaming(own.dir).length === 0);
  await own.stop(); // idempotent
});

// The process that started the server ends without calling stop(): killed (no exit hook runs) or
// exiting by itself (the exit hook runs). The watchdog outside it shuts the server down either way.
test.each([
  ['is killed with SIGKILL', 'setInterval(() => {}, 1000);', 'SIGKILL'],
  ['exits without calling stop()', 'process.stdin.once("data", () => process.exit(0));', undefined],
] as const)('a server whose starting process %s is shut down and its dir removed', async (_how, thenWait, signal) => {
  const script = [
    `import { startPostgres } from ${JSON.stringify(pathToFileURL(`${testSupport}/postgres.ts`).href)};`,
    'const server = await startPostgres();',
    'console.log(JSON.stringify({ pid: server.pid, dir: server.dir }));',
    thenWait,
  ].join('\n');
  const starter = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((done) => starter.once('exit', done));
  const started = await new Promise<{ pid: number; dir: string }>((done, fail) => {
    starter.stdout.once('data', (line: Buffer) => done(JSON.parse(line.toString()) as { pid: number; dir: string }));
    starter.once('exit', (code) => fail(new Error(`the starting process exited (${code}) before the server was up`)));
  });
  expect(running(started.pid)).toBe(true);

  if (signal === undefined) starter.stdin.write('exit\n');
  else starter.kill(signal);
  await exited;
  await eventually(
    `the postmaster ${started.pid} to end and ${started.dir} to be removed`,
    () => !running(started.pid) && !existsSync(started.dir),
    {
      timeoutMs: 20_000,
    },
  );
  await eventually(`no process naming ${started.dir}`, () => processesNaming(started.dir).length === 0);
});
