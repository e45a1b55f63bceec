// Both services with AUTH_MODE=required, as real processes, verifying tokens of a test issuer: the
// Brain follows the feed and recomputes with its own token from a file, picks up a rotated token
// without a restart, and when the Logger revokes its scope a recompute answers 502 and leaves the
// stored mastery untouched. The Brain's own routes need their scopes too.
import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { request } from '../../../test-support/http.js';
import { makeTempDir } from '../../../test-support/service-process.js';
import { TestIssuer, apiKeyFor, replaceFile } from '../../../test-support/token-issuer.js';
import { eventually, metric, metricReaches, mixedEvents, startStack, type Stack } from './support.js';

const BRAIN = 'system:serviceaccount:learning:concept-mastery';
const BRAIN_ROTATED = 'system:serviceaccount:learning:concept-mastery-rotated';
const OPERATOR = 'oidc|operator';

let issuer: TestIssuer;
let stack: Stack;
let files: { path: string; remove(): void };
const writer = apiKeyFor('test-writer', ['events:write', 'events:read']);
let operatorToken: string;

const loggerPrincipals = (scopes: string[]) => JSON.stringify({ [BRAIN]: scopes, [BRAIN_ROTATED]: scopes });
const brainToken = (sub: string) => issuer.sign(sub, { aud: 'learning-events', exp: Math.floor(Date.now() / 1000) + 3600 });

beforeAll(async () => {
  issuer = await TestIssuer.start();
  files = makeTempDir('auth-stack-');
  writeFileSync(`${files.path}/logger-principals.json`, loggerPrincipals(['events:read']));
  writeFileSync(`${files.path}/logger-keys.json`, JSON.stringify([writer.entry]));
  writeFileSync(`${files.path}/brain-principals.json`, JSON.stringify({ [OPERATOR]: ['mastery:read', 'mastery:recompute'] }));
  writeFileSync(`${files.path}/brain-token`, await brainToken(BRAIN));
  const jwt = { AUTH_MODE: 'required', AUTH_JWT_ISSUER: issuer.url, AUTH_JWT_JWKS_URL: issuer.jwksUrl };
  stack = await startStack({
    loggerEnv: {
      ...jwt,
      AUTH_PRINCIPALS_FILE: `${files.path}/logger-principals.json`,
      AUTH_API_KEYS_FILE: `${files.path}/logger-keys.json`,
    },
    brainEnv: {
      ...jwt,
      AUTH_PRINCIPALS_FILE: `${files.path}/brain-principals.json`,
      LEARNING_EVENTS_TOKEN_FILE: `${files.path}/brain-token`,
    },
  });
  operatorToken = await issuer.sign(OPERATOR, { aud: 'concept-mastery' });
});
afterAll(async () => {
  await stack.stop();
  await issuer.stop();
  files.remove();
});

const asOperator = () => ({ authorization: `Bearer ${operatorToken}` });

async function logAs(student: string, count: number): Promise<number> {
  const res = await request(`${stack.logger.url}/events/batch`, {
    json: mixedEvents(student, count, 3).map((e) => ({ event_id: randomUUID(), ...e })),
    headers: { authorization: writer.bearer },
  });
  expect(res.status).toBe(201);
  return Math.max(...(res.body.items as Array<{ seq: number }>).map((item) => item.seq));
}

async function masteryOf(student: string) {
  const res = await request<any[]>(`${stack.brain.url}/mastery/${student}`, { headers: asOperator() });
  expect(res.status).toBe(200);
  return res.body;
}

/** The principals of the Logger's request log lines for a route, newest last. */
const loggerPrincipalsOf = (route: string) =>
  stack.logger.output
    .filter((line) => line.includes('"msg":"request"') && line.includes(`"route":"${route}"`))
    .map((line) => (JSON.parse(line) as { principal?: string }).principal);

test("the Brain follows the feed and recomputes with its token file; the Logger logs the Brain's identity", async () => {
  const student = `s-${randomUUID()}`;
  const head = await logAs(student, 30);
  await metricReaches(stack.brain.url, 'mastery_feed_cursor_seq', '>=', head);
  expect(await masteryOf(student)).toHaveLength(3);
  const recompute = await request(`${stack.brain.url}/mastery/recompute/${student}`, { method: 'POST', headers: asOperator() });
  expect(recompute.status).toBe(200);
  expect(recompute.body.events_processed).toBe(30);
  expect(loggerPrincipalsOf('/feed').at(-1)).toBe(BRAIN);
  expect(loggerPrincipalsOf('/events/:user_id').at(-1)).toBe(BRAIN);
});

test("the Brain's own routes need a credential with their scope", async () => {
  const none = await request(`${stack.brain.url}/mastery/anyone`);
  expect(none.status).toBe(401);
  expect(none.body.error.code).toBe('unauthenticated');
  expect(none.headers.get('www-authenticate')).toBe('Bearer realm="concept-mastery"');
  const forLogger = await request(`${stack.brain.url}/mastery/anyone`, {
    headers: { authorization: `Bearer ${await brainToken(OPERATOR)}` },
  });
  expect(forLogger.status).toBe(401); // a token for the Logger's audience is not one for the Brain
  expect(forLogger.headers.get('www-authenticate')).toBe('Bearer realm="concept-mastery", error="invalid_token"');
  const erase = await request(`${stack.brain.url}/mastery/anyone`, { method: 'DELETE', headers: asOperator() });
  expect(erase.status).toBe(403);
  expect(erase.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('admin') });
  expect((await request(`${stack.brain.url}/health`)).status).toBe(200);
});

test('a rotated token file is used from the next request on, without a restart', async () => {
  replaceFile(`${files.path}/brain-token`, await brainToken(BRAIN_ROTATED));
  const student = `rotated-${randomUUID()}`;
  const head = await logAs(student, 6);
  await metricReaches(stack.brain.url, 'mastery_feed_cursor_seq', '>=', head);
  await eventually(`the Logger to log a /feed request by ${BRAIN_ROTATED}`, () => loggerPrincipalsOf('/feed').at(-1) === BRAIN_ROTATED);
  const recompute = await request(`${stack.brain.url}/mastery/recompute/${student}`, { method: 'POST', headers: asOperator() });
  expect(recompute.status).toBe(200);
  // The Logger writes its request line as the answer leaves: it may reach this process a moment after the answer.
  await eventually(
    `the Logger to log a /events/:user_id request by ${BRAIN_ROTATED}`,
    () => loggerPrincipalsOf('/events/:user_id').at(-1) === BRAIN_ROTATED,
  );
});

test("when the Logger revokes the Brain's scope, a recompute answers 502 upstream_refused and stored mastery is untouched", async () => {
  const student = `revoked-${randomUUID()}`;
  const head = await logAs(student, 12);
  await metricReaches(stack.brain.url, 'mastery_feed_cursor_seq', '>=', head);
  const before = await masteryOf(student);
  expect(before).toHaveLength(3);

  const refusedBefore = await metric(stack.brain.url, 'mastery_feed_failures_total{reason="upstream_refused"}');
  replaceFile(`${files.path}/logger-principals.json`, loggerPrincipals([]));
  // The long poll under way was let in before; the consumer's next one is refused.
  await metricReaches(stack.brain.url, 'mastery_feed_failures_total{reason="upstream_refused"}', '>', refusedBefore);
  expect(stack.brain.output.some((line) => line.includes('the Logger refused the feed consumer'))).toBe(true);
  const more = await logAs(student, 6); // not applied while the Brain is refused

  const retriesBefore = await metric(stack.brain.url, 'learning_events_client_retries_total');
  const recompute = await request(`${stack.brain.url}/mastery/recompute/${student}`, { method: 'POST', headers: asOperator() });
  expect(recompute.status).toBe(502);
  expect(recompute.body.error.code).toBe('upstream_refused');
  expect(recompute.body.error.message).toMatch(/refused the Concept Mastery Service's credential \(403\)/);
  expect(await metric(stack.brain.url, 'learning_events_client_retries_total')).toBe(retriesBefore); // never retried
  expect(await masteryOf(student)).toEqual(before);

  replaceFile(`${files.path}/logger-principals.json`, loggerPrincipals(['events:read']));
  await metricReaches(stack.brain.url, 'mastery_feed_cursor_seq', '>=', more);
  expect(await masteryOf(student)).not.toEqual(before);
});

describe('every Brain route against every scope, with API keys (a refused request changes nothing)', () => {
  const scopeSets = [[], ['events:read'], ['events:write'], ['mastery:read'], ['mastery:recompute'], ['admin']];
  const keys = new Map(
    scopeSets.map((scopes) => [scopes.join(',') || 'none', apiKeyFor(`brain-${scopes.join('-').replace(':', '_') || 'none'}`, scopes)]),
  );
  let brain: Stack;
  let keyFiles: { path: string; remove(): void };
  const student = 'scoped-student';

  beforeAll(async () => {
    keyFiles = makeTempDir('brain-keys-');
    writeFileSync(`${keyFiles.path}/keys.json`, JSON.stringify([...keys.values()].map((key) => key.entry)));
    brain = await startStack({ brainEnv: { AUTH_MODE: 'required', AUTH_API_KEYS_FILE: `${keyFiles.path}/keys.json` } });
    const res = await request(`${brain.logger.url}/events/batch`, {
      json: mixedEvents(student, 12, 2).map((e) => ({ event_id: randomUUID(), ...e })),
    });
    await metricReaches(
      brain.brain.url,
      'mastery_feed_cursor_seq',
      '>=',
      Math.max(...(res.body.items as Array<{ seq: number }>).map((i) => i.seq)),
    );
  });
  afterAll(async () => {
    await brain.stop();
    keyFiles.remove();
  });

  const routes = [
    { route: 'GET /mastery/{user_id}', needs: 'mastery:read', method: 'GET', path: `/mastery/${student}` },
    { route: 'GET /mastery/{user_id}/{concept_id}', needs: 'mastery:read', method: 'GET', path: `/mastery/${student}/concept-0` },
    { route: 'POST /mastery/recompute/{user_id}', needs: 'mastery:recompute', method: 'POST', path: `/mastery/recompute/${student}` },
    { route: 'GET /models/bkt', needs: 'mastery:read', method: 'GET', path: '/models/bkt' },
    { route: 'GET /models/bkt/fits/{fit_id}', needs: 'mastery:read', method: 'GET', path: `/models/bkt/fits/${randomUUID()}` },
    { route: 'DELETE /mastery/{user_id}', needs: 'admin', method: 'DELETE', path: `/mastery/${student}` },
    { route: 'POST /models/bkt/fit', needs: 'admin', method: 'POST', path: '/models/bkt/fit' },
  ];
  const cases = routes.flatMap((r) => scopeSets.map((scopes) => ({ ...r, scopes, label: scopes.join(',') || 'no scope' })));

  test.each(cases)('$route with $label', async ({ needs, method, path, scopes }) => {
    const admin = keys.get('admin')!;
    const before = (await request(`${brain.brain.url}/mastery/${student}`, { headers: { authorization: admin.bearer } })).body;
    const key = keys.get(scopes.join(',') || 'none')!;
    const res = await request(`${brain.brain.url}${path}`, { method, headers: { authorization: key.basic } });
    if (scopes.includes(needs) || scopes.includes('admin')) {
      expect([401, 403]).not.toContain(res.status);
      if (method === 'DELETE') {
        // Restore what the allowed delete removed, for the next cases.
        await request(`${brain.brain.url}/mastery/recompute/${student}`, { method: 'POST', headers: { authorization: admin.bearer } });
      }
    } else {
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining(needs) });
      expect((await request(`${brain.brain.url}/mastery/${student}`, { headers: { authorization: admin.bearer } })).body).toEqual(before);
    }
  });
});
