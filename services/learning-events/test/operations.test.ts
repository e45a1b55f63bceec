// What operators rely on: migrations (at start and on their own), configuration checked at boot,
// probes, metrics, logs with trace ids, the OpenAPI document and its UI.
import { makeTempDir, runServiceScript, startService, type ServiceProcess } from '../../../test-support/service-process.js';
import { request } from '../../../test-support/http.js';
import { testDatabaseUrl } from '../../../test-support/database.js';
import { quiz, startLogger } from './support.js';

test('migrations: a fresh database is created and migrated; a second start finds nothing to do', async () => {
  const dir = makeTempDir();
  const started: ServiceProcess[] = [];
  try {
    const env = { DATABASE_URL: await testDatabaseUrl(`${dir.path}/nested/dir`, 'events') };
    const first = await startService('learning-events', env);
    started.push(first);
    expect(first.output.join('\n')).toContain(
      '"applied":["001_create_events","002_create_erasures","003_create_write_probe","004_byte_wise_ids","005_feed_positions"]',
    );
    expect((await request(`${first.url}/ready`)).status).toBe(200);
    const created = await request(`${first.url}/events`, { json: quiz('m', 'c') });
    expect(created.status).toBe(201);
    expect(await first.kill('SIGTERM')).toBe(0);

    const second = await startService('learning-events', env);
    started.push(second);
    expect(second.output.join('\n')).toContain('"applied":[]');
    expect((await request(`${second.url}/events/m`)).body).toEqual([created.body]);
    expect(await second.kill('SIGTERM')).toBe(0);
  } finally {
    // A failed expectation must not leave a Logger running (jest would wait for it at the end).
    await Promise.all(started.map((service) => service.kill('SIGKILL')));
    dir.remove();
  }
});

test('migrations run on their own (npm run migrate)', async () => {
  const dir = makeTempDir();
  try {
    const env = { DATABASE_URL: await testDatabaseUrl(dir.path, 'events') };
    const first = await runServiceScript('learning-events', 'dist/src/migrate.js', env);
    expect(first).toEqual({ code: 0, output: expect.stringContaining('applied: 001_create_events') });
    const again = await runServiceScript('learning-events', 'dist/src/migrate.js', env);
    expect(again).toEqual({ code: 0, output: expect.stringContaining('already up to date') });
    const service = await startService('learning-events', env);
    try {
      expect(service.output.join('\n')).toContain('"applied":[]');
    } finally {
      await service.kill('SIGTERM');
    }
  } finally {
    dir.remove();
  }
});

test('a PostgreSQL password never reaches the output, also when the server cannot be reached', async () => {
  const result = await runServiceScript('learning-events', 'dist/src/main.js', {
    DATABASE_URL: 'postgres://analytics:hunter2-secret@127.0.0.1:1/events',
    DATABASE_CONNECT_TIMEOUT_MS: '500',
  });
  expect(result.code).not.toBe(0);
  expect(result.output).toContain('ECONNREFUSED');
  expect(result.output).not.toContain('hunter2-secret');
});

describe('a bad configuration value stops the start and names the variable', () => {
  test.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['EVENT_TYPES', 'quiz attempt,!!'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_POOL_SIZE', '0'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', '-1'],
    ['DATABASE_CONNECT_TIMEOUT_MS', 'soon'],
    ['LOG_LEVEL', 'loud'],
    ['BODY_LIMIT_BYTES', '-5'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon'],
  ])('%s=%s', async (name, value) => {
    const result = await runServiceScript('learning-events', 'dist/src/main.js', { [name]: value });
    expect(result.code).toBe(2);
    expect(result.output).toContain(name);
  });
});

describe('a running service', () => {
  let logger: Awaited<ReturnType<typeof startLogger>>;
  beforeAll(async () => (logger = await startLogger({ EVENT_TYPES: 'quiz_attempt, forum_post' })));
  afterAll(() => logger.stop());

  test('EVENT_TYPES decides which types are accepted', async () => {
    expect((await request(`${logger.url}/events`, { json: { user_id: 'u', event_type: 'forum_post', concept_id: 'c' } })).status).toBe(201);
    const refused = await request(`${logger.url}/events`, { json: { user_id: 'u', event_type: 'video_watched', concept_id: 'c' } });
    expect(refused.status).toBe(422);
  });

  test('probes answer', async () => {
    expect(await request(`${logger.url}/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await request(`${logger.url}/ready`)).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  test('metrics: HTTP histogram by route template, ingestion and rejection counters, commit histograms', async () => {
    await request(`${logger.url}/events/someone%2Felse`);
    await request(`${logger.url}/events`, { json: { user_id: 'u', event_type: 'nope', concept_id: 'c' } });
    await request(`${logger.url}/events/batch`, { json: [quiz('u', 'c'), quiz('u', 'd')] });
    const res = await request(`${logger.url}/metrics`);
    expect(res.status).toBe(200);
    const text = res.body as string;
    expect(text).toContain('http_request_duration_seconds_bucket{le="0.005",method="GET",route="/events/:user_id",status_code="200"}');
    expect(text).not.toContain('someone');
    expect(text).toMatch(/events_ingested_total\{event_type="quiz_attempt"\} 2/);
    expect(text).toMatch(/events_ingested_total\{event_type="forum_post"\} 1/);
    expect(text).toMatch(/events_rejected_total\{reason="validation_failed"\} [1-9]/);
    expect(text).toMatch(/events_write_batch_size_count [1-9]/);
    expect(text).toMatch(/events_commit_duration_seconds_count [1-9]/);
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  test('one JSON log line per request, with route, status, duration, request id and trace ids', async () => {
    await request(`${logger.url}/events/log-check`, { headers: { 'x-request-id': 'req-123' } });
    await new Promise((r) => setTimeout(r, 100));
    const line = logger.service.output.map((l) => JSON.parse(l)).find((l) => l.request_id === 'req-123');
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'GET',
      route: '/events/:user_id',
      status_code: 200,
      duration_ms: expect.any(Number),
      trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });

  test('student ids are pseudonyms in the logs by default: the raw id appears on no line', async () => {
    const student = 'élève-secret-4711';
    await request(`${logger.url}/events/${encodeURIComponent(student)}/fractions`, { headers: { 'x-request-id': 'req-pseudonym' } });
    await new Promise((r) => setTimeout(r, 100));
    const lines = logger.service.output.map((l) => JSON.parse(l));
    expect(lines.find((l) => l.request_id === 'req-pseudonym')).toMatchObject({
      route: '/events/:user_id/:concept_id',
      path: '/events/:user_id/fractions',
      user_id: expect.stringMatching(/^p-[0-9a-f]{20}$/),
    });
    const everything = logger.service.output.join('\n');
    expect(everything).not.toContain(student);
    expect(everything).not.toContain(encodeURIComponent(student));
  });

  test('with LOG_PSEUDONYM_KEY a student has the same pseudonym after a restart; LOG_STUDENT_IDS=raw logs the id', async () => {
    const pseudonymAfterStart = async (env: Record<string, string>, requestId: string) => {
      await logger.restart(env);
      await request(`${logger.url}/events/the-same-student`, { headers: { 'x-request-id': requestId } });
      await new Promise((r) => setTimeout(r, 100));
      return logger.service.output.map((l) => JSON.parse(l)).find((l) => l.request_id === requestId)?.user_id as string;
    };
    const key = { LOG_PSEUDONYM_KEY: 'a-key-of-sixteen-chars-or-more' };
    const first = await pseudonymAfterStart(key, 'req-key-1');
    expect(first).toMatch(/^p-[0-9a-f]{20}$/);
    expect(await pseudonymAfterStart(key, 'req-key-2')).toBe(first);
    expect(await pseudonymAfterStart({ LOG_PSEUDONYM_KEY: 'another-key-of-sixteen-chars' }, 'req-key-3')).not.toBe(first);
    expect(await pseudonymAfterStart({ LOG_STUDENT_IDS: 'raw' }, 'req-raw')).toBe('the-same-student');
    await logger.restart();
  });

  test('an X-Request-Id that does not look like an id is replaced, not echoed', async () => {
    const kept = await request(`${logger.url}/health`, { headers: { 'x-request-id': 'trace-abc.123:x' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-abc.123:x');
    const replaced = await request(`${logger.url}/health`, { headers: { 'x-request-id': 'x'.repeat(500) } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('OpenAPI 3.1 document from the validation schemas, and Swagger UI served locally', async () => {
    const doc = await request(`${logger.url}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/events',
        '/events/batch',
        '/events/{user_id}',
        '/events/{user_id}/{concept_id}',
        '/feed',
        '/health',
        '/ready',
        '/metrics',
      ]),
    );
    expect(doc.body.components.schemas.EventInput.properties.event_type.enum).toEqual(['quiz_attempt', 'forum_post']);
    expect(doc.body.components.schemas.ErrorBody).toBeDefined();
    const ui = await request(`${logger.url}/docs`);
    expect(ui.status).toBe(200);
    expect(ui.body).toContain('/openapi.json');
    const bundle = await fetch(`${logger.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });
});
