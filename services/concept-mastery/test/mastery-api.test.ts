// The seed's flow end to end, grading edge cases, idempotent recompute, unknown students and
// concepts, and the operational endpoints: both services as real processes.
import { rawGet } from '../../../test-support/raw-http.js';
import { request } from '../../../test-support/http.js';
import { caughtUp, expectedRecords, logEvents, mixedEvents, quiz, readMastery, startStack, video, type Stack } from './support.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.stop());

const post = (url: string, json: unknown) => request(url, { method: 'POST', json });

test("the seed's flow: log events, mastery appears in real time, recompute agrees", async () => {
  const { logger, brain } = stack;
  const logged = [
    await post(`${logger.url}/events`, quiz('seed-alice', 'fractions', { score: 90 })),
    await post(`${logger.url}/events`, quiz('seed-alice', 'fractions', { score: 40 })),
    await post(`${logger.url}/events`, quiz('seed-alice', 'fractions', { correct: true })),
    await post(`${logger.url}/events`, video('seed-alice', 'decimals')),
  ];
  for (const res of logged) expect(res.status).toBe(201);
  await caughtUp(brain.url, logged[3]!.body.seq);

  const list = await request<any[]>(`${brain.url}/mastery/seed-alice`);
  expect(list.status).toBe(200);
  expect(list.body).toEqual([
    {
      user_id: 'seed-alice',
      concept_id: 'decimals',
      model: 'pass_ratio',
      mastery_score: 0,
      total_attempts: 0,
      successful_attempts: 0,
      last_event_at: logged[3]!.body.timestamp,
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    },
    {
      user_id: 'seed-alice',
      concept_id: 'fractions',
      model: 'pass_ratio',
      mastery_score: (2 / 3) * 100,
      total_attempts: 3,
      successful_attempts: 2,
      last_event_at: logged[2]!.body.timestamp,
      updated_at: expect.stringMatching(/Z$/),
    },
  ]);
  const one = await request(`${brain.url}/mastery/seed-alice/fractions`);
  expect(one.status).toBe(200);
  expect(one.body).toEqual(list.body[1]);

  const recompute = await post(`${brain.url}/mastery/recompute/seed-alice`, undefined);
  expect(recompute.status).toBe(200);
  expect(recompute.body).toEqual({
    user_id: 'seed-alice',
    model: 'pass_ratio',
    events_processed: 4,
    events_skipped: { not_a_quiz_attempt: 1 },
    concepts_written: 0, // real time had already got every record right
    records_written: expect.objectContaining({ pass_ratio: 0 }),
    duration_ms: expect.any(Number),
  });
  expect((await request(`${brain.url}/mastery/seed-alice`)).body).toEqual(list.body);
});

test('GET /mastery never serves records older than the last applied event (read cache invalidated on write)', async () => {
  const { logger, brain } = stack;
  const user = 'fresh-reads';
  for (let i = 1; i <= 4; i += 1) {
    const [event] = await logEvents(logger.url, [quiz(user, 'c', { score: i % 2 === 0 ? 100 : 0 })]);
    await caughtUp(brain.url, event!.seq);
    const list = (await request<any[]>(`${brain.url}/mastery/${user}`)).body;
    expect(list).toEqual([expect.objectContaining({ total_attempts: i, successful_attempts: Math.floor(i / 2) })]);
    expect((await request(`${brain.url}/mastery/${user}/c`)).body).toEqual(list[0]);
    expect((await request<any[]>(`${brain.url}/mastery/${user}`)).body).toEqual(list); // now from memory
  }
});

describe('grading edge cases (PASS_SCORE 60)', () => {
  test.each([
    ['score exactly 60 passes', { score: 60 }, 1],
    ['score 59.9 fails', { score: 59.9 }, 0],
    ['correct true passes', { correct: true }, 1],
    ['correct false fails', { correct: false }, 0],
    ['a low score with correct true passes', { score: 10, correct: true }, 1],
  ])('%s', async (name, details, successful) => {
    const user = `grading-${name.replace(/\W+/g, '-')}`;
    const [event] = await logEvents(stack.logger.url, [quiz(user, 'c', details)]);
    const res = await post(`${stack.brain.url}/mastery/recompute/${user}`, undefined);
    expect(res.status).toBe(200);
    expect(res.body.events_skipped).toEqual({});
    await caughtUp(stack.brain.url, event!.seq);
    expect(await readMastery(stack.brain.url, user, { lastEventAt: false })).toEqual([
      {
        user_id: user,
        concept_id: 'c',
        model: 'pass_ratio',
        mastery_score: successful * 100,
        total_attempts: 1,
        successful_attempts: successful,
      },
    ]);
  });

  test('non-quiz events do not change the ratio', async () => {
    const user = 'grading-non-quiz';
    await logEvents(stack.logger.url, [
      quiz(user, 'c', { score: 80 }),
      quiz(user, 'c', { score: 20 }),
      video(user, 'c'),
      { user_id: user, event_type: 'assignment_submitted', concept_id: 'c', event_details: { score: 0 } },
      { user_id: user, event_type: 'video_watched', concept_id: 'c', event_details: { correct: false } },
    ]);
    const res = await post(`${stack.brain.url}/mastery/recompute/${user}`, undefined);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ events_processed: 5, events_skipped: { not_a_quiz_attempt: 3 } });
    expect(await readMastery(stack.brain.url, user, { lastEventAt: false })).toEqual([
      { user_id: user, concept_id: 'c', model: 'pass_ratio', mastery_score: 50, total_attempts: 2, successful_attempts: 1 },
    ]);
  });
});

test('recompute is idempotent: a second run changes nothing, updated_at included', async () => {
  const user = 'idempotent';
  const events = await logEvents(stack.logger.url, mixedEvents(user, 300, 7));
  await caughtUp(stack.brain.url, events[events.length - 1]!.seq);
  const first = await post(`${stack.brain.url}/mastery/recompute/${user}`, undefined);
  expect(first.status).toBe(200);
  const before = (await request(`${stack.brain.url}/mastery/${user}`)).body;
  const second = await post(`${stack.brain.url}/mastery/recompute/${user}`, undefined);
  expect(second.status).toBe(200);
  const nothingWritten = Object.fromEntries(Object.keys(first.body.records_written).map((model) => [model, 0]));
  expect(second.body).toEqual({ ...first.body, concepts_written: 0, records_written: nothingWritten, duration_ms: expect.any(Number) });
  expect(second.body.events_processed).toBe(300);
  expect((await request(`${stack.brain.url}/mastery/${user}`)).body).toEqual(before);
  expect(await readMastery(stack.brain.url, user)).toEqual(expectedRecords(events, user));
});

test('two events of a new concept, recomputed twice: no integrity error, no double count', async () => {
  const user = 'new-concept';
  await logEvents(stack.logger.url, [quiz(user, 'brand-new', { score: 70 }), quiz(user, 'brand-new', { score: 30 })]);
  for (let run = 0; run < 2; run += 1) {
    expect((await post(`${stack.brain.url}/mastery/recompute/${user}`, undefined)).status).toBe(200);
    expect(await readMastery(stack.brain.url, user, { lastEventAt: false })).toEqual([
      { user_id: user, concept_id: 'brand-new', model: 'pass_ratio', mastery_score: 50, total_attempts: 2, successful_attempts: 1 },
    ]);
  }
});

test('unknown student: 200 []; recompute of one writes nothing', async () => {
  const list = await request(`${stack.brain.url}/mastery/nobody-at-all`);
  expect(list).toMatchObject({ status: 200, body: [] });
  const res = await post(`${stack.brain.url}/mastery/recompute/nobody-at-all`, undefined);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ events_processed: 0, events_skipped: {}, concepts_written: 0 });
  expect((await request(`${stack.brain.url}/mastery/nobody-at-all`)).body).toEqual([]);
});

test('unknown concept (or student): 404 in the common error shape', async () => {
  await logEvents(stack.logger.url, [quiz('known', 'known-concept', { score: 70 })]);
  await post(`${stack.brain.url}/mastery/recompute/known`, undefined);
  for (const path of ['/mastery/known/unknown-concept', '/mastery/unknown-student/known-concept']) {
    const res = await request(`${stack.brain.url}${path}`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'not_found', message: expect.any(String), details: [] } });
  }
});

test('ids holding any Unicode and an encoded "/" round-trip through both services', async () => {
  const user = 'élève/42 🚀';
  const concept = 'fractions/équivalentes';
  await logEvents(stack.logger.url, [quiz(user, concept, { score: 61 })]);
  const res = await post(`${stack.brain.url}/mastery/recompute/${encodeURIComponent(user)}`, undefined);
  expect(res.status).toBe(200);
  expect(res.body.user_id).toBe(user);
  const one = await request(`${stack.brain.url}/mastery/${encodeURIComponent(user)}/${encodeURIComponent(concept)}`);
  expect(one.status).toBe(200);
  expect(one.body).toMatchObject({ user_id: user, concept_id: concept, mastery_score: 100 });
});

test('records are sorted by concept_id', async () => {
  const user = 'sorted';
  await logEvents(
    stack.logger.url,
    ['b', 'Z', 'a', 'ä', '1'].map((c) => quiz(user, c, { score: 70 })),
  );
  await post(`${stack.brain.url}/mastery/recompute/${user}`, undefined);
  const ids = (await readMastery(stack.brain.url, user)).map((r) => r.concept_id);
  expect(ids).toEqual(['1', 'Z', 'a', 'b', 'ä']);
});

describe('bad input gets the common error body, never a 500', () => {
  test.each([
    ['a control character in user_id', 'GET', '/mastery/bad%00id'],
    ['a user_id over 128 characters', 'GET', `/mastery/${'x'.repeat(129)}`],
    ['a control character in concept_id', 'GET', '/mastery/u/c%07'],
    ['recompute of an invalid user_id', 'POST', '/mastery/recompute/%01'],
    // Sent as written: fetch would resolve the dots and re-escape the bad percent-encoding.
    ['a user_id of two dots', 'RAW GET', '/mastery/%2E%2E'],
    ['a concept_id of two dots', 'RAW GET', '/mastery/u/..'],
    ['a lone byte that is no UTF-8', 'RAW GET', '/mastery/%E9'],
    ['not a percent-escape', 'RAW GET', '/mastery/%ZZ/c'],
  ])('%s: 400', async (_name, method, path) => {
    const res = method === 'RAW GET' ? await rawGet(stack.brain.url, path) : await request(`${stack.brain.url}${path}`, { method });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        code: 'bad_request',
        message: expect.any(String),
        details: [expect.objectContaining({ path: expect.stringMatching(/^path:/) })],
      },
    });
  });
  test('wrong method: 405 with Allow', async () => {
    const res = await request(`${stack.brain.url}/mastery/someone`, { method: 'PUT' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toContain('GET');
    expect(res.headers.get('allow')).toContain('DELETE');
    expect(res.body.error.code).toBe('method_not_allowed');
  });
  test('unknown route: 404', async () => {
    const res = await request(`${stack.brain.url}/nothing-here`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});

test('health, readiness, metrics, OpenAPI and docs', async () => {
  const { brain } = stack;
  expect(await request(`${brain.url}/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });
  expect(await request(`${brain.url}/ready`)).toMatchObject({ status: 200, body: { status: 'ready' } });
  const metrics = (await request<string>(`${brain.url}/metrics`)).body;
  for (const name of [
    'http_request_duration_seconds_bucket{',
    'mastery_recompute_duration_seconds_bucket{',
    'mastery_recompute_events_total{outcome="passed"}',
    'learning_events_client_requests_total{status="200"}',
    'learning_events_client_retries_total',
    'mastery_feed_lag_events',
    'mastery_feed_lag_seconds',
    'process_cpu_seconds_total',
  ]) {
    expect(metrics).toContain(name);
  }
  expect(metrics).toContain('route="/mastery/recompute/:user_id"');
  const openapi = await request<any>(`${brain.url}/openapi.json`);
  expect(openapi.status).toBe(200);
  expect(openapi.body.openapi).toBe('3.1.0');
  expect(Object.keys(openapi.body.paths)).toEqual(
    expect.arrayContaining(['/mastery/{user_id}', '/mastery/{user_id}/{concept_id}', '/mastery/recompute/{user_id}', '/health']),
  );
  expect(openapi.body.components.schemas.MasteryRecord.oneOf).toContainEqual({ $ref: '#/components/schemas/MasteryRecord_pass_ratio' });
  expect(openapi.body.components.schemas.MasteryRecord_pass_ratio.required).toEqual(
    expect.arrayContaining([
      'user_id',
      'concept_id',
      'mastery_score',
      'total_attempts',
      'successful_attempts',
      'last_event_at',
      'updated_at',
      'model',
    ]),
  );
  const docs = await request<string>(`${brain.url}/docs`);
  expect(docs.status).toBe(200);
  expect(docs.body).toContain('swagger-ui');
});
