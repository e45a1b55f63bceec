// Every class of bad input gets its documented status and JSON error body, and stores nothing.
import { request } from '../../../test-support/http.js';
import { rawGet } from '../../../test-support/raw-http.js';
import { quiz, startLogger, storedCount, type LoggerUnderTest } from './support.js';

let logger: LoggerUnderTest;

beforeAll(async () => {
  logger = await startLogger({ BODY_LIMIT_BYTES: '32768', BATCH_BODY_LIMIT_BYTES: '65536' });
  // One good event, so "nothing stored" is measured against a non-empty store.
  expect((await request(`${logger.url}/events`, { json: quiz('seed', 'c') })).status).toBe(201);
});
afterAll(() => logger.stop());

async function expectRejected(send: () => Promise<{ status: number; body: any }>, status: number, code: string, paths: string[] = []) {
  const before = await storedCount(logger.url);
  const res = await send();
  expect(res.status).toBe(status);
  const { details_omitted: omitted, ...error } = res.body.error ?? {};
  expect({ error }).toEqual({ error: { code, message: expect.any(String), details: expect.any(Array) } });
  if (omitted !== undefined) expect(omitted).toBeGreaterThan(0);
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.js:\d+/); // never a stack trace
  for (const path of paths) expect(res.body.error.details.map((d: any) => d.path)).toContain(path);
  expect(await storedCount(logger.url)).toBe(before);
  return res.body.error;
}

const post =
  (body: unknown, path = '/events') =>
  () =>
    request(`${logger.url}${path}`, { json: body });
const postRaw =
  (body: string, contentType = 'application/json', path = '/events') =>
  () =>
    request(`${logger.url}${path}`, { method: 'POST', body, headers: { 'content-type': contentType } });

describe('malformed JSON: 400', () => {
  test.each([['{"user_id": '], ['not json'], ['{"a":1}}'], [''], ['   ']])('%j', async (body) => {
    await expectRejected(postRaw(body), 400, 'malformed_json');
    await expectRejected(postRaw(body, 'application/json', '/events/batch'), 400, 'malformed_json');
  });
  test.each([['"a string"'], ['42'], ['null'], ['true']])('valid JSON of the wrong shape, %s: 422, not a parse error', async (body) => {
    await expectRejected(postRaw(body), 422, 'validation_failed', ['']);
    await expectRejected(postRaw(body, 'application/json', '/events/batch'), 422, 'validation_failed', ['']);
  });
});

describe('schema violations: 422 with one detail per violation', () => {
  test('missing required fields', async () => {
    const error = await expectRejected(post({}), 422, 'validation_failed', ['/user_id', '/event_type', '/concept_id']);
    expect(error.details).toHaveLength(3);
  });
  test('unknown top-level field', async () => {
    await expectRejected(post({ ...quiz('u', 'c'), mood: 'happy' }), 422, 'validation_failed', ['/mood']);
  });
  test('wrong types', async () => {
    await expectRejected(
      post({ user_id: 7, event_type: 'quiz_attempt', concept_id: ['c'], event_details: 'x' }),
      422,
      'validation_failed',
      ['/user_id', '/concept_id', '/event_details'],
    );
  });
  test('event type outside the configured set', async () => {
    await expectRejected(post({ ...quiz('u', 'c'), event_type: 'page_view' }), 422, 'validation_failed', ['/event_type']);
  });
  test('empty, too long, and control-character ids', async () => {
    await expectRejected(post(quiz('', 'c')), 422, 'validation_failed', ['/user_id']);
    await expectRejected(post(quiz('u'.repeat(129), 'c')), 422, 'validation_failed', ['/user_id']);
    await expectRejected(post(quiz('u\u0000x', 'c')), 422, 'validation_failed', ['/user_id']);
    await expectRejected(post(quiz('u', 'line\nbreak')), 422, 'validation_failed', ['/concept_id']);
  });
  test('quiz_attempt without score or correct', async () => {
    await expectRejected(post(quiz('u', 'c', {})), 422, 'validation_failed', ['/event_details']);
    await expectRejected(post({ user_id: 'u', event_type: 'quiz_attempt', concept_id: 'c' }), 422, 'validation_failed', ['/event_details']);
  });
  test('score out of range, correct not a boolean', async () => {
    await expectRejected(post(quiz('u', 'c', { score: 101 })), 422, 'validation_failed', ['/event_details/score']);
    await expectRejected(post(quiz('u', 'c', { score: -1 })), 422, 'validation_failed', ['/event_details/score']);
    await expectRejected(post(quiz('u', 'c', { correct: 'yes' })), 422, 'validation_failed', ['/event_details/correct']);
  });
  test('event_details over 16 KiB', async () => {
    await expectRejected(post(quiz('u', 'c', { score: 1, notes: 'x'.repeat(17 * 1024) })), 422, 'validation_failed', ['/event_details']);
  });
  test('timestamp without offset, or not a time', async () => {
    await expectRejected(post({ ...quiz('u', 'c'), timestamp: '2024-01-01T10:00:00' }), 422, 'validation_failed', ['/timestamp']);
    await expectRejected(post({ ...quiz('u', 'c'), timestamp: 'yesterday' }), 422, 'validation_failed', ['/timestamp']);
    await expectRejected(post({ ...quiz('u', 'c'), timestamp: '2024-02-30T10:00:00Z' }), 422, 'validation_failed', ['/timestamp']);
  });
  test.each([
    ['an offset without a colon', '2024-01-01T10:00:00+0530'],
    ['an offset of hours only', '2024-01-01T10:00:00+05'],
    ['a space for the T', '2024-01-01 10:00:00Z'],
    ['an offset past 23:59', '2024-01-01T10:00:00+24:00'],
    ['hour 24', '2024-01-01T24:00:00Z'],
    ['no seconds', '2024-01-01T10:00Z'],
  ])('timestamp with %s: 422 naming the RFC 3339 form', async (_name, timestamp) => {
    const error = await expectRejected(post({ ...quiz('u', 'c'), timestamp }), 422, 'validation_failed', ['/timestamp']);
    expect(error.details).toEqual([{ path: '/timestamp', reason: expect.stringMatching(/RFC 3339 .*Z or \+hh:mm/) }]);
  });
  test('timestamp outside years 0000-9999 once in UTC, or a leap second', async () => {
    for (const timestamp of ['9999-12-31T23:59:59-23:59', '0000-01-01T00:00:00+23:59', '2016-12-31T23:59:60Z']) {
      await expectRejected(post({ ...quiz('u', 'c'), timestamp }), 422, 'validation_failed', ['/timestamp']);
    }
  });
  test('event_details nested too deeply to serialize', async () => {
    const deep = `${'['.repeat(6000)}${']'.repeat(6000)}`;
    const body = `{"user_id":"u","event_type":"video_watched","concept_id":"c","event_details":{"a":${deep}}}`;
    await expectRejected(postRaw(body), 422, 'validation_failed', ['/event_details']);
  });
  test.each([
    ['user_id', '.'],
    ['user_id', '..'],
    ['concept_id', '..'],
  ])('%s of dots only (%s): 422, it could never be read back by URL', async (field, id) => {
    const error = await expectRejected(post({ ...quiz('u', 'c'), [field]: id }), 422, 'validation_failed', [`/${field}`]);
    expect(error.details[0].reason).toMatch(/must not be "\." or "\.\."/);
  });
  test.each([
    ['beyond double range', '{"n":1e400}', '/n'],
    ['negative beyond double range', '{"deep":{"n":-1e400}}', '/deep/n'],
    ['an integer past 2^53 that would lose digits', '{"id":9007199254740993}', '/id'],
    ['inside an array', '{"list":[1,2,18446744073709551616]}', '/list/2'],
    ['integer-valued past 2^53, however written', '{"a":{"b~c/d":1e20}}', '/a/b~0c~1d'],
  ])('a number in event_details %s: 422, nothing else is stored in its place', async (_name, details, at) => {
    const body = `{"user_id":"u","event_type":"video_watched","concept_id":"c","event_details":${details}}`;
    const error = await expectRejected(postRaw(body), 422, 'validation_failed', ['/event_details']);
    expect(error.details[0].reason).toContain(`(at ${at})`);
  });
  test('event_id not a UUID', async () => {
    await expectRejected(post({ ...quiz('u', 'c'), event_id: 'abc' }), 422, 'validation_failed', ['/event_id']);
  });
  test.each([
    ['a URN', 'urn:uuid:9b2d6a3e-2f0c-4d36-9d7e-1f6c1b1f0a11'],
    ['an upper-case URN', 'URN:UUID:9B2D6A3E-2F0C-4D36-9D7E-1F6C1B1F0A11'],
    ['braces', '{9b2d6a3e-2f0c-4d36-9d7e-1f6c1b1f0a11}'],
    ['no hyphens', '9b2d6a3e2f0c4d369d7e1f6c1b1f0a11'],
  ])('event_id spelled as %s: 422, only the plain form is a UUID here', async (_name, id) => {
    await expectRejected(post({ ...quiz('u', 'c'), event_id: id }), 422, 'validation_failed', ['/event_id']);
    await expectRejected(post([{ ...quiz('u', 'c'), event_id: id }], '/events/batch'), 422, 'validation_failed', ['/0/event_id']);
  });
  test('a body that is an array on the single-event route', async () => {
    await expectRejected(post([quiz('u', 'c')]), 422, 'validation_failed');
  });
});

describe('batches: any invalid item names its index and nothing is stored', () => {
  test('invalid items', async () => {
    const batch = [quiz('u', 'c'), quiz('', 'c'), quiz('u', 'c'), { ...quiz('u', 'c'), extra: 1 }];
    const error = await expectRejected(post(batch, '/events/batch'), 422, 'validation_failed', ['/1/user_id', '/3/extra']);
    expect(error.details.every((d: any) => /^\/[13]\//.test(d.path))).toBe(true);
  });
  test('a batch bad in every item: the first 100 details and a count of the rest', async () => {
    const item = { user_id: '', event_type: 'nope', concept_id: 'c', colour: 'red' };
    const perItem = (await expectRejected(post([item], '/events/batch'), 422, 'validation_failed')).details.length;
    expect(perItem).toBeGreaterThanOrEqual(3);
    const items = Array.from({ length: 600 }, () => item);
    const error = await expectRejected(post(items, '/events/batch'), 422, 'validation_failed', ['/0/user_id', '/0/event_type']);
    expect(error.details).toHaveLength(100);
    expect(error.details_omitted).toBe(600 * perItem - 100);
  });
  test('empty batch, over 1,000 items, not an array', async () => {
    await expectRejected(post([], '/events/batch'), 422, 'validation_failed');
    await expectRejected(post({ events: [] }, '/events/batch'), 422, 'validation_failed');
    const many = Array.from({ length: 1001 }, () => ({ user_id: 'u', event_type: 'video_watched', concept_id: 'c' }));
    expect(JSON.stringify(many).length).toBeLessThan(65536); // under the body limit: the item count is what fails
    await expectRejected(post(many, '/events/batch'), 422, 'validation_failed');
  });
  test('repeated event_id inside one batch', async () => {
    const id = '0b7d8a51-4a59-4c5e-9d8e-8d8f7d1f1c10';
    const batch = [quiz('u', 'c', { score: 1 }, { event_id: id }), quiz('u', 'c', { score: 1 }, { event_id: id })];
    await expectRejected(post(batch, '/events/batch'), 422, 'validation_failed', ['/1/event_id']);
  });
});

describe('transport-level problems', () => {
  test('body over the limit: 413', async () => {
    await expectRejected(postRaw(JSON.stringify({ ...quiz('u', 'c'), pad: 'x'.repeat(40_000) })), 413, 'payload_too_large');
  });
  test('batch body over its limit: 413', async () => {
    const batch = Array.from({ length: 300 }, () => quiz('u', 'c', { score: 5, note: 'y'.repeat(300) }));
    await expectRejected(post(batch, '/events/batch'), 413, 'payload_too_large');
  });
  test.each([
    ['a Latin-1 é', [0xe9]],
    ['an overlong slash', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a sequence cut short', [0xe2, 0x82]],
  ])('invalid UTF-8 in the body (%s): 400, never stored with replacement characters', async (_name, bytes) => {
    const body = Buffer.concat([
      Buffer.from('{"user_id":"caf'),
      Buffer.from(bytes),
      Buffer.from('","event_type":"video_watched","concept_id":"c"}'),
    ]);
    const send = async () => {
      const res = await fetch(`${logger.url}/events`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      return { status: res.status, body: await res.json() };
    };
    const error = await expectRejected(send, 400, 'bad_request');
    expect(error.message).toMatch(/UTF-8/);
  });
  test.each(['application/json; charset=latin1', 'application/json; charset=utf-16', 'application/vnd.example+json; charset=iso-8859-1'])(
    'a charset other than UTF-8 (%s): 415, never decoded as something else',
    async (contentType) => {
      await expectRejected(postRaw(JSON.stringify(quiz('u', 'c')), contentType), 415, 'unsupported_media_type');
    },
  );
  test('non-JSON content type: 415', async () => {
    await expectRejected(postRaw('user_id=u', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type');
    await expectRejected(postRaw(JSON.stringify(quiz('u', 'c')), 'text/plain'), 415, 'unsupported_media_type');
  });
  test('unknown route: 404', async () => {
    await expectRejected(() => request(`${logger.url}/nowhere`), 404, 'not_found');
    await expectRejected(() => request(`${logger.url}/events/a/b/c`), 404, 'not_found');
  });
  test('wrong method: 405 with Allow', async () => {
    const res = await request(`${logger.url}/events`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.body.error.code).toBe('method_not_allowed');
    expect(res.headers.get('allow')).toContain('POST');
    await expectRejected(() => request(`${logger.url}/feed`, { method: 'PUT', json: {} }), 405, 'method_not_allowed');
    await expectRejected(() => request(`${logger.url}/events/alice`, { method: 'POST', json: {} }), 405, 'method_not_allowed');
  });
});

describe('bad query and path parameters: 400', () => {
  test.each([
    ['/events/u?limit=0', 'query:/limit'],
    ['/events/u?limit=10001', 'query:/limit'],
    ['/events/u?limit=ten', 'query:/limit'],
    ['/events/u?since=yesterday', 'query:/since'],
    ['/events/u?colour=red', 'query:/colour'],
    ['/events/u/c?concept_id=x', 'query:/concept_id'],
    ['/events/u?limit=5&cursor=garbage', 'query:/cursor'],
    ['/events/u?cursor=WzEsMSwxXQ', 'query:/cursor'],
    ['/events/u?since=2016-12-31T23:59:60Z', 'query:/since'],
    ['/events/u?until=9999-12-31T23:59:59-23:59', 'query:/until'],
    ['/feed?after=-1', 'query:/after'],
    ['/feed?cursor=garbage', 'query:/cursor'],
    ['/feed?cursor=0.5', 'query:/cursor'],
    ['/feed?cursor=00000000000000000000.00000000000000001', 'query:/cursor'],
    ['/feed?cursor=00000000000000000000.9999999999999999', 'query:/cursor'],
    ['/feed?cursor=00000000000000000000.0000000000000001&after=1', 'query:/after'],
    ['/feed?limit=100000', 'query:/limit'],
    ['/feed?wait_ms=600000', 'query:/wait_ms'],
    [`/events/${'u'.repeat(129)}`, 'path:/user_id'],
    ['/events/a%00b', 'path:/user_id'],
  ])('%s', async (path, detail) => {
    await expectRejected(() => request(`${logger.url}${path}`), 400, expect.stringMatching(/bad_request/), [detail]);
  });

  // Spellings that Number() accepts but that are not plain decimal integers, and integers past 2^53.
  const looseIntegers = ['Infinity', '-Infinity', '1e400', '1e3', '0x10', '+5', '05', '1.0', '1.5', '%205', '9007199254740993'];
  const integerParameters = ['/events/u?limit=', '/events/u/c?limit=', '/feed?after=', '/feed?limit=', '/feed?wait_ms='];
  test.each(integerParameters.flatMap((prefix) => looseIntegers.map((spelling) => [`${prefix}${spelling}`])))(
    '%s: not a plain decimal integer',
    async (path) => {
      const name = /[?&](\w+)=[^&]*$/.exec(path)![1]!;
      const error = await expectRejected(() => request(`${logger.url}${path}`), 400, 'bad_request', [`query:/${name}`]);
      expect(error.details).toEqual([{ path: `query:/${name}`, reason: expect.stringMatching(/decimal integer/) }]);
    },
  );

  test.each([
    ['/events/%ZZ', 'not a percent-escape'],
    ['/events/%E9', 'a lone byte that is no UTF-8'],
    ['/events/%C0%AF', 'overlong UTF-8'],
    ['/events/u/%ED%A0%80', 'an encoded surrogate'],
  ])('%s (%s): 400, never a literal id', async (path) => {
    await expectRejected(() => rawGet(logger.url, path), 400, 'bad_request', ['path:']);
  });

  test.each(['/events/.', '/events/..', '/events/%2E%2E', '/events/u/%2e', '/events/u/..'])(
    '%s: 400, an id of dots cannot be named in a URL',
    async (path) => {
      const error = await expectRejected(() => rawGet(logger.url, path), 400, 'bad_request');
      expect(error.details.map((d: any) => d.path)).toEqual([expect.stringMatching(/^path:\/(user_id|concept_id)$/)]);
    },
  );

  test('the largest exact integer is a valid after', async () => {
    const res = await request(`${logger.url}/feed?after=9007199254740991`);
    expect(res.status).toBe(200);
    // Only positions past it: on PostgreSQL, those of transactions numbered above 0.
    for (const event of res.body.events) expect(event.position > '00000000000000000000.9007199254740991').toBe(true);
  });
});
