// A database error in the middle of a streamed timeline, produced for real: the client holds the
// answer after its first page, the test renames the events table from another connection, and the
// stream's next page query fails. The client must see a failed response, not a short valid one;
// the failure is logged and counted, and the request's log line, written when the stream ended,
// says so.
import { request as httpRequest } from 'node:http';
import Database from 'better-sqlite3';
import { request } from '../../../test-support/http.js';
import { eventually, metric } from '../../../test-support/polling.js';
import { startLogger, type LoggerUnderTest } from './support.js';

let logger: LoggerUnderTest;
beforeAll(async () => {
  logger = await startLogger();
});
afterAll(() => logger.stop());

const pad = 'x'.repeat(12_000);

test('an error mid-stream aborts the connection, is logged at error and counted; the service goes on', async () => {
  const user = 'streamed';
  for (let batch = 0; batch < 3; batch += 1) {
    const events = Array.from({ length: 1000 }, (_, i) => ({
      user_id: user,
      event_type: 'quiz_attempt',
      concept_id: 'c',
      event_details: { score: (batch * 1000 + i) % 100, pad },
    }));
    expect((await request(`${logger.url}/events/batch`, { json: events })).status).toBe(201);
  }

  const outcome = new Promise<{ status: number; ended: boolean; bytes: number; error?: string }>((resolve) => {
    const req = httpRequest(`${logger.url}/events/${user}`, (res) => {
      let bytes = 0;
      let ended = false;
      let first = true;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!first) return;
        first = false;
        // Hold the answer: the server's stream waits for the client, within its first page (12 MB).
        res.pause();
        void breakTheTable().then(() => res.resume());
      });
      res.on('end', () => (ended = true));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, ended, bytes }));
      res.on('error', () => undefined);
    });
    req.on('error', (err) => resolve({ status: 0, ended: false, bytes: 0, error: err.message }));
    req.end();
  });

  let restore: () => void = () => undefined;
  async function breakTheTable() {
    const db = new Database(logger.databaseUrl.replace(/^sqlite:/, ''));
    db.pragma('busy_timeout = 5000');
    db.exec('alter table events rename to events_hidden');
    restore = () => {
      db.exec('alter table events_hidden rename to events');
      db.close();
    };
    await new Promise((r) => setTimeout(r, 10));
  }

  const result = await outcome;
  restore();
  expect(result.status).toBe(200);
  expect(result.ended).toBe(false); // the connection was cut, not ended as if complete
  expect(result.bytes).toBeGreaterThan(0);
  expect(result.bytes).toBeLessThan(3000 * pad.length);

  expect(await metric(logger.url, 'http_response_stream_errors_total{route="/events/:user_id"}')).toBe(1);
  await eventually("the Logger's log line 'a streamed answer failed midway'", () =>
    logger.service.output.some((line) => line.includes('a streamed answer failed midway')),
  );
  const failure = JSON.parse(logger.service.output.find((line) => line.includes('a streamed answer failed midway'))!);
  expect(failure).toMatchObject({ level: 'error', route: '/events/:user_id', err: { message: expect.stringContaining('no such table') } });
  const isRequestLine = (l: string) =>
    l.includes('"msg":"request"') && l.includes('"route":"/events/:user_id"') && l.includes('stream_failed');
  await eventually("the Logger's request line with stream_failed", () => logger.service.output.some(isRequestLine));
  const line = JSON.parse(logger.service.output.find(isRequestLine)!);
  expect(line).toMatchObject({ status_code: 200, stream_failed: true, request_id: failure.request_id });

  // Table back: the same timeline streams whole.
  const whole = await request<unknown[]>(`${logger.url}/events/${user}`);
  expect(whole.status).toBe(200);
  expect(whole.body).toHaveLength(3000);
  expect((await request(`${logger.url}/health`)).status).toBe(200);
});
