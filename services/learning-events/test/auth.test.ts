// Authentication and scopes, against a real Logger with AUTH_MODE=required: bearer JWTs checked
// against a test issuer's JWKS, API keys as bearer or HTTP Basic, and the files that grant scopes.
// Every refusal is a 401 that does not say which check failed, counted by reason, logged without
// the credential, and stores nothing; a valid credential without the route's scope is a 403.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, type JsonResponse } from '../../../test-support/http.js';
import { eventually, metric } from '../../../test-support/polling.js';
import { runNodeScript } from '../../../test-support/node-script.js';
import { makeTempDir, runServiceScript } from '../../../test-support/service-process.js';
import {
  TestIssuer,
  apiKeyFor,
  createSigningKey,
  forged,
  replaceFile,
  secondsFromNow,
  type SigningKey,
} from '../../../test-support/token-issuer.js';
import { quiz, startLogger, type LoggerUnderTest } from './support.js';

const challenge = 'Bearer realm="learning-events"';
const invalidTokenChallenge = `${challenge}, error="invalid_token"`;
/** Words that would tell a caller which check its credential failed. */
const revealingWords = /expir|not yet|nbf|issuer|audience|signature|kid|algorithm|alg\b|secret|password|unknown|malformed|scope|jwks/i;

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');

const SCOPES = ['events:write', 'events:read', 'mastery:read', 'mastery:recompute', 'admin'];

let requestCount = 0;
const nextRequestId = () => `auth-${process.pid}-${++requestCount}`;

function send(
  logger: LoggerUnderTest,
  method: string,
  path: string,
  options: { authorization?: string; json?: unknown; requestId?: string } = {},
): Promise<JsonResponse<any>> {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  if (options.requestId !== undefined) headers['x-request-id'] = options.requestId;
  return request(`${logger.url}${path}`, { method, json: options.json, headers });
}

function logLines(logger: LoggerUnderTest): any[] {
  return logger.service.output.flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}

/** The log line `msg` of the request `requestId`, once it has been written. */
async function logLineOf(logger: LoggerUnderTest, requestId: string, msg: string): Promise<any> {
  let found: any;
  await eventually(`the log line "${msg}" of request ${requestId}`, () => {
    found = logLines(logger).find((l) => l.request_id === requestId && l.msg === msg);
    return found !== undefined;
  });
  return found;
}

const failures = (logger: LoggerUnderTest, reason: string) => metric(logger.url, `auth_failures_total{reason="${reason}"}`);

/**
 * The built script `npm run apikey` runs (npm test builds first), run directly as the migrate test
 * runs migrate.js: a rebuild inside a test would be slow and is not what is under test.
 */
function apikeyScript(): string {
  const { scripts } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const script = /node (\S+\.js)/.exec(scripts.apikey ?? '')?.[1];
  if (script === undefined) throw new Error(`no "node <script>.js" in the apikey script: ${scripts.apikey}`);
  return join(repoRoot, script);
}

function writeJson(path: string, value: unknown) {
  writeFileSync(path, JSON.stringify(value, null, 2));
}

describe('AUTH_MODE=required with JWTs and API keys', () => {
  const dir = makeTempDir('learning-events-auth-');
  const keysFile = join(dir.path, 'api-keys.json');
  const principalsFile = join(dir.path, 'principals.json');
  let issuer: TestIssuer;
  let rsaKey: SigningKey;
  let ecKey: SigningKey;
  let logger: LoggerUnderTest;
  const admin = apiKeyFor('admin-key', ['admin']);
  const writerKey = apiKeyFor('writer-key', ['events:write']);
  /** One key and one JWT subject per scope set of the route table, `[]` included. */
  const scopeSets: string[][] = [[], ...SCOPES.map((s) => [s])];
  const scopedName = (scopes: string[]) => `scoped-${scopes.join('_').replace(/:/g, '-') || 'none'}`;
  const scopedKeys = new Map(scopeSets.map((scopes) => [scopedName(scopes), apiKeyFor(scopedName(scopes), scopes)]));
  const baseKeys = [admin, writerKey, ...scopedKeys.values()];
  const basePrincipals: Record<string, string[]> = {
    writer: ['events:write'],
    reader: ['events:read'],
    ...Object.fromEntries(scopeSets.map((scopes) => [scopedName(scopes), scopes])),
  };
  /** What every refused credential gets back, whatever check it failed. */
  let invalidCredentialBody: unknown;

  beforeAll(async () => {
    [rsaKey, ecKey] = await Promise.all([createSigningKey('RS256'), createSigningKey('ES256')]);
    issuer = await TestIssuer.start({ keys: [rsaKey, ecKey] });
    writeJson(
      keysFile,
      baseKeys.map((k) => k.entry),
    );
    writeJson(principalsFile, basePrincipals);
    logger = await startLogger({
      AUTH_MODE: 'required',
      AUTH_JWT_ISSUER: issuer.url,
      AUTH_JWT_JWKS_URL: issuer.jwksUrl,
      AUTH_API_KEYS_FILE: keysFile,
      AUTH_PRINCIPALS_FILE: principalsFile,
    });
    invalidCredentialBody = (await send(logger, 'POST', '/events', { authorization: 'Bearer x.y.z', json: quiz('reference', 'c') })).body;
  });
  afterAll(async () => {
    await logger?.stop();
    await issuer?.stop();
    dir.remove();
  });

  async function timeline(userId: string): Promise<any[]> {
    const res = await send(logger, 'GET', `/events/${encodeURIComponent(userId)}`, { authorization: admin.bearer });
    expect(res.status).toBe(200);
    return res.body;
  }

  let usersSoFar = 0;
  /**
   * POSTs an event with `authorization` and checks the refusal: 401, the challenge, a body that
   * names no check, the metric for `reason` one higher, a log line with the reason but without
   * the credential (`secret`: the part that must appear on no log line), and nothing stored.
   */
  async function expectRefused(
    authorization: string | undefined,
    reason: string,
    secret: string | null = authorization?.split(' ')[1] ?? null,
  ) {
    const userId = `refused-${++usersSoFar}`;
    const requestId = nextRequestId();
    const before = await failures(logger, reason);
    const res = await send(logger, 'POST', '/events', { authorization, json: quiz(userId, 'c'), requestId });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'unauthenticated', message: expect.any(String), details: [] } });
    expect(res.body.error.message).not.toMatch(revealingWords);
    if (authorization === undefined) {
      expect(res.headers.get('www-authenticate')).toBe(challenge);
    } else {
      expect(res.headers.get('www-authenticate')).toBe(invalidTokenChallenge);
      expect(res.body).toEqual(invalidCredentialBody);
    }
    expect(await failures(logger, reason)).toBe(before + 1);
    expect(await logLineOf(logger, requestId, 'authentication failed')).toMatchObject({ level: 'info', reason });
    expect(await logLineOf(logger, requestId, 'request')).toMatchObject({ status_code: 401 });
    if (secret !== null) expect(logger.service.output.join('\n')).not.toContain(secret);
    expect(await timeline(userId)).toEqual([]);
  }

  async function expectAccepted(authorization: string, principal: string) {
    const userId = `accepted-${++usersSoFar}`;
    const requestId = nextRequestId();
    const res = await send(logger, 'POST', '/events', { authorization, json: quiz(userId, 'c'), requestId });
    expect(res.status).toBe(201);
    expect(await logLineOf(logger, requestId, 'request')).toMatchObject({ status_code: 201, principal });
    expect(await timeline(userId)).toEqual([res.body]);
  }

  describe('bearer JWTs', () => {
    test('a valid token: 201, stored, and the request log line names its subject', async () => {
      await expectAccepted(`Bearer ${await issuer.sign('writer')}`, 'writer');
    });

    test('both keys of a rotation are in force: tokens of the RS256 and of the ES256 key are accepted', async () => {
      await expectAccepted(`Bearer ${await issuer.sign('writer', {}, { key: rsaKey })}`, 'writer');
      await expectAccepted(`Bearer ${await issuer.sign('writer', {}, { key: ecKey })}`, 'writer');
    });

    test('expired more than the 60 s of clock skew ago: 401 expired', async () => {
      const token = await issuer.sign('writer', { iat: secondsFromNow(-600), exp: secondsFromNow(-120) });
      await expectRefused(`Bearer ${token}`, 'expired');
    });

    test('expired less than 60 s ago, within the clock skew: accepted', async () => {
      const token = await issuer.sign('writer', { iat: secondsFromNow(-600), exp: secondsFromNow(-20) });
      await expectAccepted(`Bearer ${token}`, 'writer');
    });

    test('not valid before a time beyond the clock skew: 401 not_yet_valid', async () => {
      await expectRefused(`Bearer ${await issuer.sign('writer', { nbf: secondsFromNow(120) })}`, 'not_yet_valid');
    });

    test('not valid before a time within the clock skew: accepted', async () => {
      await expectAccepted(`Bearer ${await issuer.sign('writer', { nbf: secondsFromNow(20) })}`, 'writer');
    });

    test('another issuer: 401 wrong_issuer', async () => {
      await expectRefused(`Bearer ${await issuer.sign('writer', { iss: 'https://someone-else.example' })}`, 'wrong_issuer');
    });

    test('another audience: 401 wrong_audience', async () => {
      await expectRefused(`Bearer ${await issuer.sign('writer', { aud: 'concept-mastery' })}`, 'wrong_audience');
    });

    test('an audience list that includes learning-events: accepted', async () => {
      await expectAccepted(`Bearer ${await issuer.sign('writer', { aud: ['concept-mastery', 'learning-events'] })}`, 'writer');
    });

    test.each(['exp', 'sub'])('without %s: 401 invalid_claims', async (claim) => {
      await expectRefused(`Bearer ${await issuer.sign('writer', { [claim]: undefined })}`, 'invalid_claims');
    });

    test('alg none with an empty signature: 401 unsupported_algorithm', async () => {
      await expectRefused(`Bearer ${forged.unsigned(await issuer.sign('writer'))}`, 'unsupported_algorithm');
    });

    test.each(['pem', 'jwk'] as const)(
      'HS256 signed with the published public key (its %s) as the HMAC secret: 401 unsupported_algorithm',
      async (form) => {
        const token = await forged.hmacWithPublicKey(await issuer.sign('writer', {}, { key: rsaKey }), rsaKey, form);
        await expectRefused(`Bearer ${token}`, 'unsupported_algorithm');
      },
    );

    test('a payload changed after signing (a reader made a writer): 401 bad_signature', async () => {
      const token = forged.tampered(await issuer.sign('reader'), { sub: 'writer' });
      await expectRefused(`Bearer ${token}`, 'bad_signature');
    });

    test("signed by another key under a published key's kid: 401 bad_signature", async () => {
      const impostor = await createSigningKey('RS256', rsaKey.kid);
      await expectRefused(`Bearer ${await issuer.sign('writer', {}, { key: impostor })}`, 'bad_signature');
    });
  });

  describe('API keys', () => {
    test('a valid key as a bearer token: 201, and the log line names api-key:<id>', async () => {
      await expectAccepted(writerKey.bearer, 'api-key:writer-key');
    });

    test('a valid key as HTTP Basic (id as user, secret as password): 201', async () => {
      await expectAccepted(writerKey.basic, 'api-key:writer-key');
    });

    test('a known id with a wrong secret, as bearer: 401 wrong_secret', async () => {
      const { secret } = apiKeyFor('x', []);
      await expectRefused(`Bearer writer-key.${secret}`, 'wrong_secret', secret);
    });

    test('HTTP Basic with a wrong password: 401 wrong_secret', async () => {
      const wrong = `writer-key:${apiKeyFor('x', []).secret}`;
      await expectRefused(`Basic ${Buffer.from(wrong).toString('base64')}`, 'wrong_secret', wrong.split(':')[1]);
    });

    test('an id that is in no entry: 401 unknown_api_key', async () => {
      await expectRefused(`Bearer nobody-key.${writerKey.secret}`, 'unknown_api_key', writerKey.secret);
    });

    test('the keys file is read again when it changes: a revoked key is refused, a new one accepted, without a restart', async () => {
      const revoked = apiKeyFor('revoked-key', ['events:write']);
      const added = apiKeyFor('added-key', ['events:write']);
      try {
        replaceFile(keysFile, JSON.stringify([...baseKeys, revoked].map((k) => k.entry)));
        await expectAccepted(revoked.bearer, 'api-key:revoked-key');
        replaceFile(keysFile, JSON.stringify([...baseKeys, added].map((k) => k.entry)));
        await expectRefused(revoked.bearer, 'unknown_api_key');
        await expectAccepted(added.basic, 'api-key:added-key');
      } finally {
        replaceFile(keysFile, JSON.stringify(baseKeys.map((k) => k.entry)));
      }
    });

    test('npm run apikey create prints a key and its entry; with the entry in the keys file the key authenticates', async () => {
      const result = await runNodeScript(apikeyScript(), ['create', '--scopes', 'events:read,events:write']);
      expect(result.code).toBe(0);
      const words = result.stdout.split(/\s+/);
      const key = words.find((w) => /^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{16,}$/.test(w));
      expect(key).toBeDefined();
      const [id, secret] = key!.split('.') as [string, string];
      const entryLine = result.stdout.split('\n').find((line) => line.trim().startsWith('{'));
      const entry = JSON.parse(entryLine!);
      expect(entry).toMatchObject({ id, sha256: createHash('sha256').update(secret).digest('hex') });
      expect([...entry.scopes].sort()).toEqual(['events:read', 'events:write']);
      expect(entryLine).not.toContain(secret);

      try {
        replaceFile(keysFile, JSON.stringify([...baseKeys.map((k) => k.entry), entry]));
        await expectAccepted(`Bearer ${key}`, `api-key:${id}`);
        const basic = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
        expect((await send(logger, 'GET', '/feed?limit=1', { authorization: basic })).status).toBe(200);
        const erase = await send(logger, 'DELETE', '/events/someone', { authorization: `Bearer ${key}` });
        expect(erase.status).toBe(403);
        expect(erase.body.error.message).toContain('admin');
      } finally {
        replaceFile(keysFile, JSON.stringify(baseKeys.map((k) => k.entry)));
      }
    });

    test('npm run apikey create with an unknown scope fails and names it', async () => {
      const result = await runNodeScript(apikeyScript(), ['create', '--scopes', 'events:read,events:everything']);
      expect(result.code).not.toBe(0);
      expect(result.stdout).not.toMatch(/\{/);
      expect(result.stderr).toContain('events:everything');
    });
  });

  describe('the Authorization header', () => {
    test('missing: 401 missing_credential, and the challenge does not say invalid_token', async () => {
      await expectRefused(undefined, 'missing_credential');
    });

    test.each([
      ['a scheme without a value', 'Bearer'],
      ['an unknown scheme', 'Token abc'],
      ['four dot-separated parts', 'Bearer a.b.c.d'],
      ['a bearer value without a dot', 'Bearer abcdef'],
      ['an API key with an empty id', 'Bearer .secret'],
      ['two values', 'Bearer a.b c.d'],
      ['Basic without a colon', `Basic ${Buffer.from('writer-key').toString('base64')}`],
      ['Basic with an empty user', `Basic ${Buffer.from(':password').toString('base64')}`],
      ['Basic that is not base64', 'Basic ***'],
    ])('%s (%s): 401 malformed_header', async (_name, authorization) => {
      await expectRefused(authorization, 'malformed_header', null);
    });
  });

  describe('scopes from the principals file', () => {
    test('a valid token whose subject has no entry: 403 forbidden naming the scope, nothing stored', async () => {
      const before = await failures(logger, 'missing_scope');
      const requestId = nextRequestId();
      const res = await send(logger, 'POST', '/events', {
        authorization: `Bearer ${await issuer.sign('stranger')}`,
        json: quiz('unlisted-subject', 'c'),
        requestId,
      });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('events:write') });
      expect(await failures(logger, 'missing_scope')).toBe(before + 1);
      expect(await logLineOf(logger, requestId, 'request')).toMatchObject({ status_code: 403, principal: 'stranger' });
      expect(await timeline('unlisted-subject')).toEqual([]);
    });

    test('the principals file is read again when it changes: a grant and its withdrawal take effect without a restart', async () => {
      const token = `Bearer ${await issuer.sign('late-comer')}`;
      const post = () => send(logger, 'POST', '/events', { authorization: token, json: quiz('late-comer-student', 'c') });
      try {
        expect((await post()).status).toBe(403);
        replaceFile(principalsFile, JSON.stringify({ ...basePrincipals, 'late-comer': ['events:write'] }));
        expect((await post()).status).toBe(201);
        replaceFile(principalsFile, JSON.stringify({ ...basePrincipals, 'late-comer': ['events:read'] }));
        expect((await post()).status).toBe(403);
        expect(await timeline('late-comer-student')).toHaveLength(1);
      } finally {
        replaceFile(principalsFile, JSON.stringify(basePrincipals));
      }
    });
  });

  describe.each(['API key', 'JWT'] as const)('every route against every scope, as %s', (kind) => {
    const routes = [
      {
        route: 'POST /events',
        needs: 'events:write',
        writes: true,
        method: 'POST',
        path: () => '/events',
        body: (u: string) => quiz(u, 'c'),
      },
      {
        route: 'POST /events/batch',
        needs: 'events:write',
        writes: true,
        method: 'POST',
        path: () => '/events/batch',
        body: (u: string) => [quiz(u, 'd')],
      },
      { route: 'GET /events/{user_id}', needs: 'events:read', writes: false, method: 'GET', path: (u: string) => `/events/${u}` },
      {
        route: 'GET /events/{user_id}/{concept_id}',
        needs: 'events:read',
        writes: false,
        method: 'GET',
        path: (u: string) => `/events/${u}/c`,
      },
      { route: 'GET /feed', needs: 'events:read', writes: false, method: 'GET', path: () => '/feed?limit=10' },
      { route: 'DELETE /events/{user_id}', needs: 'admin', writes: true, method: 'DELETE', path: (u: string) => `/events/${u}` },
    ];
    const cases = routes.flatMap((r) => scopeSets.map((scopes) => ({ ...r, scopes, label: scopes.join(',') || 'no scope' })));
    let caseNumber = 0;

    test.each(cases)('$route with $label', async ({ needs, writes, method, path, body, scopes }) => {
      const userId = `scope-table-${kind === 'JWT' ? 'jwt' : 'key'}-${++caseNumber}`;
      const seeded = await send(logger, 'POST', '/events', { authorization: admin.bearer, json: quiz(userId, 'seed') });
      expect(seeded.status).toBe(201);
      const name = scopedName(scopes);
      const authorization = kind === 'JWT' ? `Bearer ${await issuer.sign(name)}` : scopedKeys.get(name)!.bearer;

      const res = await send(logger, method, path(userId), { authorization, json: body?.(userId) });

      const allowed = scopes.includes(needs) || scopes.includes('admin');
      if (allowed) {
        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(300);
        if (method === 'DELETE') expect(await timeline(userId)).toEqual([]);
        else if (writes) expect(await timeline(userId)).toHaveLength(2);
      } else {
        expect(res.status).toBe(403);
        expect(res.body.error).toEqual({
          code: 'forbidden',
          message: expect.stringContaining(needs),
          details: expect.any(Array),
        });
        expect(await timeline(userId)).toEqual([seeded.body]);
      }
    });
  });

  test.each(['/health', '/ready', '/metrics', '/openapi.json', '/docs'])('%s answers without a credential', async (path) => {
    expect((await send(logger, 'GET', path)).status).toBe(200);
  });
});

describe('a key the Logger has not fetched yet', () => {
  // jose refetches the JWKS for an unknown kid at most once per cooldown (30 s) after the last
  // fetch, so these poll: two Loggers, primed together, let both waits run at the same time.
  let setups: { issuer: TestIssuer; logger: LoggerUnderTest; dir: { path: string; remove(): void } }[] = [];
  const admin = apiKeyFor('admin-key', ['admin']);

  async function primedLogger() {
    const dir = makeTempDir('learning-events-auth-');
    const issuer = await TestIssuer.start();
    writeJson(join(dir.path, 'keys.json'), [admin.entry]);
    writeJson(join(dir.path, 'principals.json'), { writer: ['events:write'] });
    const logger = await startLogger({
      AUTH_MODE: 'required',
      AUTH_JWT_ISSUER: issuer.url,
      AUTH_JWT_JWKS_URL: issuer.jwksUrl,
      AUTH_API_KEYS_FILE: join(dir.path, 'keys.json'),
      AUTH_PRINCIPALS_FILE: join(dir.path, 'principals.json'),
    });
    const primed = await send(logger, 'POST', '/events', {
      authorization: `Bearer ${await issuer.sign('writer')}`,
      json: quiz('primer', 'c'),
    });
    expect(primed.status).toBe(201);
    expect(issuer.jwksFetches).toBe(1);
    return { issuer, logger, dir };
  }

  beforeAll(async () => {
    setups = await Promise.all([primedLogger(), primedLogger()]);
  });
  afterAll(async () => {
    for (const s of setups) {
      await s.logger.stop();
      await s.issuer.stop();
      s.dir.remove();
    }
  });

  test('a kid that is not in the JWKS: 401 unknown_key, and the JWKS is fetched again for it', async () => {
    const { issuer, logger } = setups[0]!;
    const stranger = await createSigningKey('RS256', 'not-published');
    const authorization = `Bearer ${await issuer.sign('writer', {}, { key: stranger })}`;
    const before = await failures(logger, 'unknown_key');
    const res = await send(logger, 'POST', '/events', { authorization, json: quiz('unknown-kid', 'c') });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(invalidTokenChallenge);
    expect(res.body.error.code).toBe('unauthenticated');
    expect(await failures(logger, 'unknown_key')).toBe(before + 1);
    await eventually(
      () => `the Logger to fetch the JWKS again for the unknown kid (fetches so far: ${issuer.jwksFetches})`,
      async () => {
        const again = await send(logger, 'POST', '/events', { authorization, json: quiz('unknown-kid', 'c') });
        expect(again.status).toBe(401);
        return issuer.jwksFetches > 1;
      },
      { pollMs: 250, timeoutMs: 60_000 },
    );
    const check = await send(logger, 'GET', '/events/unknown-kid', { authorization: admin.bearer });
    expect(check.body).toEqual([]);
  });

  test('a key added to the JWKS after the start (a rotation begins) is picked up through its unknown kid, without a restart', async () => {
    const { issuer, logger } = setups[1]!;
    const [oldKey] = issuer.keys;
    const newKey = await createSigningKey('ES256');
    issuer.publish(newKey);
    const authorization = `Bearer ${await issuer.sign('writer', {}, { key: newKey })}`;
    await eventually(
      () => `a token signed with the newly published key to be accepted (JWKS fetches so far: ${issuer.jwksFetches})`,
      async () => {
        const res = await send(logger, 'POST', '/events', { authorization, json: quiz('rotated', 'c') });
        expect([201, 401]).toContain(res.status);
        return res.status === 201;
      },
      { pollMs: 250, timeoutMs: 60_000 },
    );
    expect(issuer.jwksFetches).toBe(2);
    const old = await send(logger, 'POST', '/events', {
      authorization: `Bearer ${await issuer.sign('writer', {}, { key: oldKey })}`,
      json: quiz('rotated', 'c'),
    });
    expect(old.status).toBe(201);
    expect((await send(logger, 'GET', '/events/rotated', { authorization: admin.bearer })).body).toHaveLength(2);
  });
});

describe('where the keys come from', () => {
  test("without AUTH_JWT_JWKS_URL the JWKS is found through the issuer's discovery document, fetched with the token file's bearer", async () => {
    const dir = makeTempDir('learning-events-auth-');
    const issuer = await TestIssuer.start();
    const tokenFile = join(dir.path, 'token');
    writeFileSync(tokenFile, 'projected-service-account-token\n');
    writeJson(join(dir.path, 'principals.json'), { writer: ['events:write'] });
    const logger = await startLogger({
      AUTH_MODE: 'required',
      AUTH_JWT_ISSUER: issuer.url,
      AUTH_JWT_JWKS_TOKEN_FILE: tokenFile,
      AUTH_PRINCIPALS_FILE: join(dir.path, 'principals.json'),
    });
    try {
      const res = await send(logger, 'POST', '/events', {
        authorization: `Bearer ${await issuer.sign('writer')}`,
        json: quiz('discovered', 'c'),
      });
      expect(res.status).toBe(201);
      expect(issuer.discoveryFetches).toBe(1);
      expect(issuer.jwksFetches).toBe(1);
      expect(issuer.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
        ['/.well-known/openid-configuration', 'Bearer projected-service-account-token'],
        ['/jwks', 'Bearer projected-service-account-token'],
      ]);
    } finally {
      await logger.stop();
      await issuer.stop();
      dir.remove();
    }
  });

  test.each([
    ['AUTH_JWT_JWKS_URL points at a closed port', true],
    ['the discovery document is on a stopped issuer', false],
  ])('the keys cannot be fetched (%s): 503 with Retry-After, nothing stored; API keys still work', async (_name, explicitJwksUrl) => {
    const dir = makeTempDir('learning-events-auth-');
    const issuer = await TestIssuer.start();
    const token = await issuer.sign('writer');
    await issuer.stop();
    const admin = apiKeyFor('admin-key', ['admin']);
    writeJson(join(dir.path, 'keys.json'), [admin.entry]);
    writeJson(join(dir.path, 'principals.json'), { writer: ['events:write'] });
    const logger = await startLogger({
      AUTH_MODE: 'required',
      AUTH_JWT_ISSUER: issuer.url,
      ...(explicitJwksUrl ? { AUTH_JWT_JWKS_URL: issuer.jwksUrl } : {}),
      AUTH_API_KEYS_FILE: join(dir.path, 'keys.json'),
      AUTH_PRINCIPALS_FILE: join(dir.path, 'principals.json'),
    });
    try {
      for (const attempt of [1, 2]) {
        const res = await send(logger, 'POST', '/events', { authorization: `Bearer ${token}`, json: quiz('keys-unavailable', 'c') });
        expect({ attempt, status: res.status }).toEqual({ attempt, status: 503 });
        expect(res.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
        expect(res.body.error.code).toBe('service_unavailable');
      }
      const stored = await send(logger, 'GET', '/events/keys-unavailable', { authorization: admin.bearer });
      expect(stored).toMatchObject({ status: 200, body: [] });
    } finally {
      await logger.stop();
      dir.remove();
    }
  });
});

describe('AUTH_MODE at start', () => {
  test('required without AUTH_JWT_ISSUER or AUTH_API_KEYS_FILE: exits 2 naming both', async () => {
    const dir = makeTempDir('learning-events-auth-');
    try {
      const result = await runServiceScript('learning-events', 'dist/src/main.js', {
        DATABASE_URL: `sqlite:${dir.path}/events.db`,
        AUTH_MODE: 'required',
      });
      expect(result.code).toBe(2);
      expect(result.output).toContain('AUTH_JWT_ISSUER');
      expect(result.output).toContain('AUTH_API_KEYS_FILE');
    } finally {
      dir.remove();
    }
  });

  test.each([
    ['not JSON', '[{"id": "a",'],
    ['an unknown scope', JSON.stringify([{ ...apiKeyFor('a', []).entry, scopes: ['events:everything'] }])],
    ['a digest that is not hex SHA-256', JSON.stringify([{ ...apiKeyFor('a', ['admin']).entry, sha256: 'abc' }])],
    ['an id twice', JSON.stringify([apiKeyFor('a', ['admin']).entry, apiKeyFor('a', ['admin']).entry])],
    ['an object, not an array', JSON.stringify({ a: apiKeyFor('a', ['admin']).entry })],
  ])('an API keys file with %s: exits 2 naming the file', async (_name, content) => {
    const dir = makeTempDir('learning-events-auth-');
    try {
      writeFileSync(join(dir.path, 'keys.json'), content);
      const result = await runServiceScript('learning-events', 'dist/src/main.js', {
        DATABASE_URL: `sqlite:${dir.path}/events.db`,
        AUTH_MODE: 'required',
        AUTH_API_KEYS_FILE: join(dir.path, 'keys.json'),
      });
      expect(result.code).toBe(2);
      expect(result.output).toContain('keys.json');
    } finally {
      dir.remove();
    }
  });

  test('off (the default): a warning at start, every caller trusted, logged as anonymous', async () => {
    const logger = await startLogger();
    try {
      expect(logLines(logger).find((l) => l.level === 'warn' && String(l.msg).includes('AUTH_MODE=off'))).toBeDefined();
      const requestId = nextRequestId();
      const res = await send(logger, 'POST', '/events', { json: quiz('anyone', 'c'), requestId });
      expect(res.status).toBe(201);
      expect(await logLineOf(logger, requestId, 'request')).toMatchObject({ principal: 'anonymous' });
      expect((await send(logger, 'DELETE', '/events/anyone')).status).toBe(200);
    } finally {
      await logger.stop();
    }
  });
});
