// Every acknowledged event survives: a SIGKILL mid-load, and a SIGTERM mid-load (graceful:
// in-flight requests finish, readiness fails, exit 0).
import { request as httpRequest } from 'node:http';
import { request } from '../../../test-support/http.js';
import { eventually } from '../../../test-support/polling.js';
import { allStoredEvents, quiz, startLogger, type LoggerUnderTest } from './support.js';

let logger: LoggerUnderTest;
beforeEach(async () => (logger = await startLogger()));
afterEach(() => logger.stop());

/** Posts events from `concurrency` loops until told to stop; returns the acked ids, and how many POSTs await an answer. */
function loadUntil(url: string, concurrency: number, shouldStop: () => boolean) {
  const acked: string[] = [];
  const load = { acked, inFlight: 0, done: Promise.resolve() };
  let attempts = 0;
  const loops = Array.from({ length: concurrency }, async (_, loop) => {
    while (!shouldStop()) {
      attempts += 1;
      load.inFlight += 1;
      try {
        const res = await request(`${url}/events`, { json: quiz(`load-${loop}`, 'c', { score: attempts % 100 }) });
        if (res.status === 201) acked.push(res.body.event_id);
      } catch {
        return; // connection refused or reset: the server is gone
      } finally {
        load.inFlight -= 1;
      }
    }
  });
  load.done = Promise.all(loops).then(() => undefined);
  return load;
}

/** Waits until `count` POSTs were acknowledged (201), failing with how many were if they are not. */
const acknowledged = (load: { acked: string[] }, count: number) =>
  eventually(
    () => `${count} acknowledged POSTs (${load.acked.length} so far)`,
    () => load.acked.length >= count,
    { pollMs: 5 },
  );

test('SIGKILL during a few hundred concurrent POSTs loses no acknowledged event', async () => {
  let killed = false;
  const load = loadUntil(logger.url, 50, () => killed);
  await acknowledged(load, 300);
  // The kill lands under load: POSTs sent and not yet answered, whose commits it may cut short.
  const inFlightAtKill = load.inFlight;
  await logger.service.kill('SIGKILL');
  killed = true;
  await load.done;
  expect(inFlightAtKill).toBeGreaterThan(0);
  const acked = [...load.acked];
  expect(acked.length).toBeGreaterThanOrEqual(300);

  await logger.restart();
  const stored = new Set((await allStoredEvents(logger.url)).map((e) => e.event_id));
  const lost = acked.filter((id) => !stored.has(id));
  expect(lost).toEqual([]);
});

test('SIGTERM under load: exit 0, every acknowledged event kept', async () => {
  let stopped = false;
  const load = loadUntil(logger.url, 32, () => stopped);
  await acknowledged(load, 200);
  const inFlightAtStop = load.inFlight;
  const exit = logger.service.kill('SIGTERM');
  expect(await exit).toBe(0);
  stopped = true;
  await load.done;
  expect(logger.service.output.join('\n')).toContain('"clean":true');
  expect(inFlightAtStop).toBeGreaterThan(0);

  await logger.restart();
  const stored = new Set((await allStoredEvents(logger.url)).map((e) => e.event_id));
  expect(load.acked.filter((id) => !stored.has(id))).toEqual([]);
});

test('after SIGTERM: readiness 503 during the shutdown delay, in-flight requests complete, exit 0', async () => {
  await logger.restart({ SHUTDOWN_DELAY_MS: '600' });
  const { port } = new URL(logger.url);
  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  const body = JSON.stringify(quiz('drain', 'c', { score: 42 }));
  // Send half the body now and the rest later: this request is in flight through the shutdown.
  const slowPost = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/events',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, 10));
    void hold.then(() => req.end(body.slice(10)));
  });
  await new Promise((r) => setTimeout(r, 100));

  void logger.service.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 150));
  const ready = await request(`${logger.url}/ready`);
  expect(ready.status).toBe(503);
  expect(ready.body.error.code).toBe('service_unavailable');
  expect((await request(`${logger.url}/health`)).status).toBe(200);

  await new Promise((r) => setTimeout(r, 800)); // past the delay: the listener is closed
  await expect(request(`${logger.url}/health`)).rejects.toThrow();
  release();
  const posted = await slowPost;
  expect(posted.status).toBe(201);
  expect(await logger.service.exited).toBe(0);

  await logger.restart();
  const stored = await allStoredEvents(logger.url);
  expect(stored.map((e) => e.event_id)).toContain(JSON.parse(posted.body).event_id);
});
