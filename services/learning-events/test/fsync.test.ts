// Durability on the disk, not in the page cache: the SIGKILL tests would pass with
// synchronous=OFF, since the kernel keeps what the process wrote. Here the Logger runs under
// strace, and every acknowledged POST must have been preceded by an fsync or fdatasync of the
// write-ahead log: the commit reached the disk before the answer left.
import { readFileSync } from 'node:fs';
import { request } from '../../../test-support/http.js';
import { makeTempDir, startService, type ServiceProcess } from '../../../test-support/service-process.js';
import { quiz } from './support.js';

let dir: { path: string; remove(): void };
let logger: ServiceProcess;
const trace = () => `${dir.path}/syscalls.txt`;

beforeAll(async () => {
  dir = makeTempDir('fsync-');
  logger = await startService(
    'learning-events',
    { DATABASE_URL: `sqlite:${dir.path}/events.db` },
    // -y names each file descriptor's path; the trace is written as the calls return.
    { wrapper: ['strace', '-f', '-y', '-e', 'trace=fsync,fdatasync', '-o', trace()], timeoutMs: 60_000 },
  );
});
afterAll(async () => {
  if (logger === undefined) return dir.remove(); // it did not start: beforeAll's error says why
  // Signalled, strace would detach and leave the service running: stop the service itself.
  const { pid } = logger.child;
  const service = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  for (const child of service) process.kill(child, 'SIGTERM');
  await logger.exited;
  dir.remove();
});

/** fsync/fdatasync calls on the events database's write-ahead log that have returned so far. */
const walSyncs = () =>
  readFileSync(trace(), 'utf8')
    .split('\n')
    .filter((line) => /\b(fsync|fdatasync)\(\d+<[^>]*events\.db-wal>\)\s+=\s+0/.test(line)).length;

test('every acknowledged event was synced to the write-ahead log on disk before its answer', async () => {
  for (let i = 0; i < 10; i += 1) {
    const before = walSyncs();
    const res = await request(`${logger.url}/events`, { json: quiz(`synced-${i}`, 'c') });
    expect(res.status).toBe(201);
    expect(walSyncs()).toBeGreaterThan(before);
  }
});
