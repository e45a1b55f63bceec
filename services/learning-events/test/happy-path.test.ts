import { makeTempDir, startService, type ServiceProcess } from '../../../test-support/service-process.js';
import { testDatabaseUrl } from '../../../test-support/database.js';
import { postJson, request } from '../../../test-support/http.js';

describe('learning-events happy paths', () => {
  const dir = makeTempDir();
  let logger: ServiceProcess;

  beforeAll(async () => {
    logger = await startService('learning-events', { DATABASE_URL: await testDatabaseUrl(dir.path, 'events') });
  });
  afterAll(async () => {
    await logger.kill('SIGTERM');
    dir.remove();
  });

  test('POST /events stores an event and answers 201 with it and a Location', async () => {
    const res = await postJson(`${logger.url}/events`, {
      user_id: 'alice',
      event_type: 'quiz_attempt',
      concept_id: 'fractions',
      event_details: { score: 80 },
      timestamp: '2024-05-01T10:00:00+02:00',
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      event_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      user_id: 'alice',
      event_type: 'quiz_attempt',
      concept_id: 'fractions',
      event_details: { score: 80 },
      timestamp: '2024-05-01T08:00:00.000Z',
      recorded_at: expect.stringMatching(/Z$/),
      seq: expect.any(Number),
    });
    expect(res.headers.get('location')).toBe('/events/alice/fractions');
    const timeline = await request(`${logger.url}/events/alice`);
    expect(timeline.status).toBe(200);
    expect(timeline.body).toEqual([res.body]);
  });

  test.each([
    'application/json; charset=UTF-8',
    'application/json;charset=utf8',
    'application/vnd.example+json',
    'application/merge-patch+json',
  ])('a JSON body sent as %s is parsed like application/json', async (contentType) => {
    const json = JSON.stringify({ user_id: 'content-types', event_type: 'video_watched', concept_id: 'c' });
    const single = await request(`${logger.url}/events`, { method: 'POST', body: json, headers: { 'content-type': contentType } });
    expect(single.status).toBe(201);
    const batch = await request(`${logger.url}/events/batch`, {
      method: 'POST',
      body: `[${json}]`,
      headers: { 'content-type': contentType },
    });
    expect(batch.status).toBe(201);
  });

  test('ids in any script, sent as UTF-8, come back byte for byte', async () => {
    const user_id = 'élève-学生-🙂';
    const res = await postJson(`${logger.url}/events`, { user_id, event_type: 'video_watched', concept_id: 'naïve' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ user_id, concept_id: 'naïve' });
  });

  test('numbers in event_details come back exactly as sent: the largest exact integers, fractions, exponents', async () => {
    const body =
      '{"user_id":"exact","event_type":"video_watched","concept_id":"c","event_details":{"max":9007199254740991,"min":-9007199254740991,"half":0.5,"tiny":1e-300,"fraction":1.5e-10}}';
    const res = await request(`${logger.url}/events`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(201);
    expect(res.body.event_details).toEqual({ max: 9007199254740991, min: -9007199254740991, half: 0.5, tiny: 1e-300, fraction: 1.5e-10 });
  });

  test.each([
    ['lower-case t and z', '2024-05-01t08:00:00z', '2024-05-01T08:00:00.000Z'],
    ['a negative offset with a fraction', '2024-05-01T03:30:00.25-04:30', '2024-05-01T08:00:00.250Z'],
  ])('a timestamp with %s is RFC 3339 too, and is stored in UTC', async (_name, timestamp, utc) => {
    const res = await postJson(`${logger.url}/events`, { user_id: 'rfc3339', event_type: 'video_watched', concept_id: 'c', timestamp });
    expect(res.status).toBe(201);
    expect(res.body.timestamp).toBe(utc);
  });

  test('POST /events/ (trailing slash) is the same endpoint', async () => {
    const res = await postJson(`${logger.url}/events/`, { user_id: 'bob', event_type: 'video_watched', concept_id: 'fractions' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ user_id: 'bob', event_type: 'video_watched', event_details: {} });
    expect((await request(`${logger.url}/events/bob`)).body).toEqual([res.body]);
  });
});
