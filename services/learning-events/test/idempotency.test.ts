// Retries are safe: the same event_id with the same content is answered from storage, never
// stored twice; with different content it is a 409 that changes nothing.
import { randomUUID } from 'node:crypto';
import { request } from '../../../test-support/http.js';
import { allStoredEvents, quiz, startLogger, type LoggerUnderTest } from './support.js';

let logger: LoggerUnderTest;
beforeAll(async () => (logger = await startLogger()));
afterAll(() => logger.stop());

test('a retried single event answers 200 with the stored event and stores nothing new', async () => {
  const event = quiz('idem-1', 'c', { score: 90 }, { event_id: randomUUID(), timestamp: '2024-03-01T12:00:00Z' });
  const first = await request(`${logger.url}/events`, { json: event });
  expect(first.status).toBe(201);
  const retry = await request(`${logger.url}/events`, { json: event });
  expect(retry.status).toBe(200);
  expect(retry.body).toEqual(first.body);
  // A retry that omits the timestamp (the server chose "now" the first time) still matches.
  const retryWithoutTime = await request(`${logger.url}/events`, {
    json: { ...event, timestamp: undefined, event_details: { score: 90 } },
  });
  expect(retryWithoutTime.status).toBe(200);
  // An upper-case UUID is the same id.
  const upperCase = await request(`${logger.url}/events`, { json: { ...event, event_id: event.event_id.toUpperCase() } });
  expect(upperCase.status).toBe(200);
  // Key order inside event_details does not matter.
  const keyed = quiz('idem-1b', 'c', { score: 90, correct: true }, { event_id: randomUUID() });
  expect((await request(`${logger.url}/events`, { json: keyed })).status).toBe(201);
  const reordered = await request(`${logger.url}/events`, { json: { ...keyed, event_details: { correct: true, score: 90 } } });
  expect(reordered.status).toBe(200);
  const stored = (await allStoredEvents(logger.url)).filter((e) => e.event_id === event.event_id);
  expect(stored).toHaveLength(1);
});

test('the same event_id with different content is a 409 and changes nothing', async () => {
  const event = quiz('idem-2', 'c', { score: 10 }, { event_id: randomUUID() });
  expect((await request(`${logger.url}/events`, { json: event })).status).toBe(201);
  for (const changed of [
    { ...event, event_details: { score: 11 } },
    { ...event, concept_id: 'other' },
    { ...event, user_id: 'someone-else' },
    { ...event, timestamp: '2020-01-01T00:00:00Z' },
  ]) {
    const res = await request(`${logger.url}/events`, { json: changed });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
  }
  const stored = (await allStoredEvents(logger.url)).filter((e) => e.event_id === event.event_id);
  expect(stored).toHaveLength(1);
  expect(stored[0].event_details).toEqual({ score: 10 });
});

test('concurrent posts of one event_id store it once', async () => {
  const event = quiz('idem-3', 'c', { score: 50 }, { event_id: randomUUID() });
  const answers = await Promise.all(Array.from({ length: 20 }, () => request(`${logger.url}/events`, { json: event })));
  expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
  expect(answers.filter((a) => a.status === 200)).toHaveLength(19);
  expect((await allStoredEvents(logger.url)).filter((e) => e.event_id === event.event_id)).toHaveLength(1);
});

test('a retried batch succeeds and reports its items as duplicates', async () => {
  const batch = Array.from({ length: 50 }, (_, i) => quiz('idem-4', `c${i % 5}`, { score: i }, { event_id: randomUUID() }));
  const first = await request(`${logger.url}/events/batch`, { json: batch });
  expect(first.status).toBe(201);
  expect(first.body.created).toBe(50);
  expect(first.body.items.map((i: any) => i.event_id)).toEqual(batch.map((e) => e.event_id));

  const retry = await request(`${logger.url}/events/batch`, { json: batch });
  expect(retry.status).toBe(200);
  expect(retry.body).toEqual({
    created: 0,
    duplicates: 50,
    items: first.body.items.map((i: any) => ({ ...i, status: 'duplicate' })),
  });

  // Half old, half new: the new ones are stored, the old ones skipped.
  const extended = [...batch.slice(25), ...Array.from({ length: 10 }, () => quiz('idem-4', 'c9', { correct: true }))];
  const mixed = await request(`${logger.url}/events/batch`, { json: extended });
  expect(mixed.status).toBe(201);
  expect(mixed.body.created).toBe(10);
  expect(mixed.body.duplicates).toBe(25);
  const timeline = await request(`${logger.url}/events/idem-4`);
  expect(timeline.body).toHaveLength(60);
});

test('a batch holding one conflicting item is a 409 naming it, and stores nothing', async () => {
  const stored = quiz('idem-5', 'c', { score: 1 }, { event_id: randomUUID() });
  expect((await request(`${logger.url}/events`, { json: stored })).status).toBe(201);
  const batch = [quiz('idem-5', 'c', { score: 2 }), { ...stored, event_details: { score: 3 } }, quiz('idem-5', 'c', { score: 4 })];
  const res = await request(`${logger.url}/events/batch`, { json: batch });
  expect(res.status).toBe(409);
  expect(res.body.error.details).toEqual([{ path: '/1/event_id', reason: expect.any(String) }]);
  const timeline = await request(`${logger.url}/events/idem-5`);
  expect(timeline.body).toHaveLength(1);
});
