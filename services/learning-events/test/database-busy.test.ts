// A database locked by another writer (an operator's migration or backup holding the write lock)
// beyond the wait a write allows (SQLite's busy_timeout, PostgreSQL's statement timeout): writes
// answer 503 with Retry-After and store nothing; /health and reads go on; /ready fails while a
// write cannot commit; once the lock is gone, writes and readiness return.
import { request } from '../../../test-support/http.js';
import { holdWriteLock, quiz, startLogger, type LoggerUnderTest } from './support.js';

let logger: LoggerUnderTest;
beforeAll(async () => {
  logger = await startLogger({ DATABASE_STATEMENT_TIMEOUT_MS: '1000' });
});
afterAll(() => logger.stop());

test('writes while another connection holds the write lock: 503 with Retry-After, nothing stored, not ready; then all is well again', async () => {
  const before = await request(`${logger.url}/events`, { json: quiz('busy', 'c') });
  expect(before.status).toBe(201);

  const release = await holdWriteLock(logger);
  try {
    const [single, batch] = await Promise.all([
      request(`${logger.url}/events`, { json: quiz('busy', 'c') }),
      request(`${logger.url}/events/batch`, { json: [quiz('busy', 'c'), quiz('busy', 'd')] }),
    ]);
    for (const res of [single, batch]) {
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.body).toEqual({ error: { code: 'service_unavailable', message: expect.stringContaining('busy'), details: [] } });
    }
    expect((await request(`${logger.url}/health`)).status).toBe(200);
    expect((await request<unknown[]>(`${logger.url}/events/busy`)).body).toHaveLength(1);
    const ready = await request(`${logger.url}/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.error.message).toMatch(/^Not ready: the last commit failed and a probe write fails too/);
  } finally {
    await release();
  }

  expect((await request(`${logger.url}/ready`)).status).toBe(200); // its probe write commits now
  expect((await request(`${logger.url}/events`, { json: quiz('busy', 'c') })).status).toBe(201);
  expect((await request<unknown[]>(`${logger.url}/events/busy`)).body).toHaveLength(2);
});
