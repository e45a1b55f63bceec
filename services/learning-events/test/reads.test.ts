// Timeline and feed reads run on reader threads and at most MAX_CONCURRENT_READS at once: beyond
// that a read gets 503 with Retry-After, while writes and /health go on. A streamed timeline holds
// its slot until its last byte or until its client goes away. How flat ingestion stays while large
// timelines stream is measured by the bench (timeline-contention), not here.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request } from '../../../test-support/http.js';
import { eventually, metric } from '../../../test-support/polling.js';
import { quiz, startLogger, type LoggerUnderTest } from './support.js';

let logger: LoggerUnderTest;
beforeAll(async () => {
  logger = await startLogger({ MAX_CONCURRENT_READS: '2', READER_THREADS: '1' });
});
afterAll(() => logger.stop());

// 40 MB of timeline: far more than socket buffers hold, so a client that stops reading keeps its
// stream open.
const USER = 'large';
const pad = 'x'.repeat(10_000);
beforeAll(async () => {
  for (let batch = 0; batch < 4; batch += 1) {
    const events = Array.from({ length: 1000 }, (_, i) => quiz(USER, `c${i % 7}`, { score: i % 100, pad }));
    expect((await request(`${logger.url}/events/batch`, { json: events })).status).toBe(201);
  }
});

/** A streamed timeline whose client reads the headers and then stops reading. */
async function stalledStream(): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${logger.url}/events/${USER}`, (res) => {
      res.pause();
      resolve({ req, res });
    });
    req.on('error', reject);
    req.end();
  });
}

async function readToEnd(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}

test('beyond MAX_CONCURRENT_READS, timeline and feed reads get 503 with Retry-After; writes and health go on; slots come back', async () => {
  const first = await stalledStream();
  const second = await stalledStream();
  expect([first.res.statusCode, second.res.statusCode]).toEqual([200, 200]);
  expect(await metric(logger.url, 'event_reads_in_progress')).toBe(2);
  const refusedBefore = await metric(logger.url, 'event_reads_refused_total');

  for (const path of [`/events/${USER}`, `/events/${USER}?limit=10`, `/events/${USER}/c1?limit=10`, '/feed']) {
    const refused = await request(`${logger.url}${path}`);
    expect({ path, status: refused.status, retryAfter: refused.headers.get('retry-after') }).toEqual({
      path,
      status: 503,
      retryAfter: '1',
    });
    expect(refused.body).toEqual({
      error: { code: 'service_unavailable', message: expect.stringMatching(/2 reads are in progress/), details: [] },
    });
  }
  expect(await metric(logger.url, 'event_reads_refused_total')).toBe(refusedBefore + 4);
  expect((await request(`${logger.url}/health`)).status).toBe(200);
  expect((await request(`${logger.url}/events`, { json: quiz('writer', 'c') })).status).toBe(201);

  // A client that goes away gives its slot back.
  first.req.destroy();
  await eventually('the abandoned stream to release its slot', async () => (await metric(logger.url, 'event_reads_in_progress')) === 1);
  const page = await request<unknown[]>(`${logger.url}/events/writer?limit=10`);
  expect(page.status).toBe(200);
  expect(page.body).toHaveLength(1);

  // A stream read to its end gives its slot back, and it is the whole timeline.
  second.res.resume();
  const events = JSON.parse(await readToEnd(second.res)) as Array<{ seq: number }>;
  expect(events).toHaveLength(4000);
  await eventually('the finished stream to release its slot', async () => (await metric(logger.url, 'event_reads_in_progress')) === 0);
});

test('more reads than reader threads wait for a thread, and each gets its own answer', async () => {
  const queued = await startLogger({ MAX_CONCURRENT_READS: '16', READER_THREADS: '1' });
  try {
    const concepts = Array.from({ length: 7 }, (_, i) => `c${i}`);
    for (const concept of concepts) {
      const events = Array.from({ length: 300 }, (_, i) => quiz('student', concept, { score: i % 100 }));
      expect((await request(`${queued.url}/events/batch`, { json: events })).status).toBe(201);
    }
    const pages = await Promise.all(
      concepts.map((concept) => request<Array<{ concept_id: string }>>(`${queued.url}/events/student/${concept}?limit=1000`)),
    );
    expect(pages.map((page) => page.status)).toEqual(concepts.map(() => 200));
    expect(pages.map((page) => page.body.length)).toEqual(concepts.map(() => 300));
    expect(pages.map((page) => [...new Set(page.body.map((event) => event.concept_id))])).toEqual(concepts.map((concept) => [concept]));
  } finally {
    await queued.stop();
  }
});
