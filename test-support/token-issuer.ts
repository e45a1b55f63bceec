// A token issuer for tests, standing in for an OIDC provider or the Kubernetes API server: signing
// keys made with jose, its discovery document and JWKS served over plain HTTP on a random port
// (fetches counted, keys swappable to act out a rotation), tokens signed with any claims and
// header, and the forged tokens a verifier must refuse. Also the other credential a service takes,
// API keys, and the way a mounted Secret changes: a new file renamed over the old one.
import { createHash, randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK, type CryptoKey, type JWTHeaderParameters } from 'jose';

export type SigningAlgorithm = 'RS256' | 'ES256';

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  /** The public half as published in the JWKS (with kid, alg and use). */
  publicJwk: JWK;
  /** The public half as SPKI PEM: what an attacker who read the JWKS could use as an HMAC secret. */
  publicPem: string;
}

export async function createSigningKey(
  alg: SigningAlgorithm = 'RS256',
  kid = `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`,
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) };
}

/** Claims to set; a claim given as `undefined` is left out of the token (e.g. `{ exp: undefined }`). */
export type ClaimOverrides = { [claim: string]: unknown };

export interface SignOptions {
  /** Default: the issuer's first published key. */
  key?: SigningKey;
  /** Merged over `{ alg, kid, typ: 'JWT' }`; a field given as `undefined` is left out. */
  header?: Partial<JWTHeaderParameters> & { [name: string]: unknown };
}

/** One HTTP request the issuer answered, for tests of what a verifier sends (e.g. a bearer token). */
export interface IssuerRequest {
  path: string;
  headers: IncomingHttpHeaders;
}

export class TestIssuer {
  /** The `iss` of its tokens and the base of its discovery document: http://127.0.0.1:<port>. */
  readonly url: string;
  readonly jwksUrl: string;
  /** How many times the JWKS and the discovery document were fetched. */
  jwksFetches = 0;
  discoveryFetches = 0;
  readonly requests: IssuerRequest[] = [];
  private published: SigningKey[];

  private constructor(
    private readonly server: Server,
    keys: SigningKey[],
    /** The `aud` of tokens that do not set one. */
    readonly audience: string,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.jwksUrl = `${this.url}/jwks`;
    this.published = [...keys];
    server.on('request', (req, res) => this.answer(req.url ?? '/', req.headers, res));
  }

  /** Starts serving `keys` (default: one new RS256 key). */
  static async start(options: { keys?: SigningKey[]; audience?: string } = {}): Promise<TestIssuer> {
    const keys = options.keys ?? [await createSigningKey('RS256')];
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return new TestIssuer(server, keys, options.audience ?? 'learning-events');
  }

  /** The keys in the JWKS now. */
  get keys(): readonly SigningKey[] {
    return this.published;
  }

  /** Adds a key to the JWKS (the new key of a rotation). */
  publish(key: SigningKey): void {
    this.published = [...this.published.filter((k) => k.kid !== key.kid), key];
  }

  /** Removes a key from the JWKS (the old key, once a rotation is over). */
  withdraw(kid: string): void {
    this.published = this.published.filter((k) => k.kid !== kid);
  }

  /**
   * A token for `sub`, signed with `options.key`: iss, aud, iat and exp (five minutes from now) are
   * set unless `claims` overrides them. Times are seconds since the epoch; see `secondsFromNow`.
   */
  async sign(sub: string, claims: ClaimOverrides = {}, options: SignOptions = {}): Promise<string> {
    const key = options.key ?? this.published[0];
    if (!key) throw new Error('the issuer publishes no key; pass options.key');
    const payload = withoutUndefined({
      iss: this.url,
      aud: this.audience,
      sub,
      iat: secondsFromNow(0),
      exp: secondsFromNow(300),
      ...claims,
    });
    const header = withoutUndefined({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header }) as JWTHeaderParameters;
    return new SignJWT(payload).setProtectedHeader(header).sign(key.privateKey);
  }

  /** Stops serving: its URLs then point at a closed port. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((done) => this.server.close(() => done()));
    this.server.closeAllConnections(); // a verifier's keep-alive sockets would hold close() open
    await closed;
  }

  private answer(path: string, headers: IncomingHttpHeaders, res: ServerResponse) {
    this.requests.push({ path, headers });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/.well-known/openid-configuration') {
      this.discoveryFetches += 1;
      json(200, { issuer: this.url, jwks_uri: this.jwksUrl, id_token_signing_alg_values_supported: ['RS256', 'ES256'] });
    } else if (path === '/jwks') {
      this.jwksFetches += 1;
      json(200, { keys: this.published.map((k) => k.publicJwk) });
    } else {
      json(404, { error: 'not found' });
    }
  }
}

export function secondsFromNow(seconds: number): number {
  return Math.floor(Date.now() / 1000) + seconds;
}

function withoutUndefined(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

const base64url = (text: string | Buffer) => Buffer.from(text).toString('base64url');

function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Forged tokens: each would pass a verifier that trusts the token's own header or skips a check. */
export const forged = {
  /** `alg: none` with an empty signature, the header and claims of `token`. */
  unsigned(token: string): string {
    return `${base64url(JSON.stringify({ ...decodePart(token, 0), alg: 'none' }))}.${token.split('.')[1]}.`;
  },

  /**
   * HS256 over the header and claims of `token`, keyed with the public key's own bytes (its PEM, or
   * its JWK as JSON): the algorithm-confusion attack on a verifier that lets the header pick the algorithm.
   */
  async hmacWithPublicKey(token: string, key: SigningKey, form: 'pem' | 'jwk'): Promise<string> {
    const secret = new TextEncoder().encode(form === 'pem' ? key.publicPem : JSON.stringify(key.publicJwk));
    const header = { ...decodePart(token, 0), alg: 'HS256' } as JWTHeaderParameters;
    return new SignJWT(decodePart(token, 1)).setProtectedHeader(header).sign(secret);
  },

  /** `token` with claims changed after signing; the signature is the original one. */
  tampered(token: string, changes: ClaimOverrides): string {
    const [header, , signature] = token.split('.');
    const payload = withoutUndefined({ ...decodePart(token, 1), ...changes });
    return `${header}.${base64url(JSON.stringify(payload))}.${signature}`;
  },
};

/** An entry of an AUTH_API_KEYS_FILE and the `<id>.<secret>` key it stands for. */
export interface TestApiKey {
  id: string;
  secret: string;
  /** `<id>.<secret>`, sent as `Authorization: Bearer <key>`. */
  key: string;
  entry: { id: string; sha256: string; scopes: string[]; description: string };
  /** The Authorization header values that carry this key. */
  bearer: string;
  basic: string;
}

export function apiKeyFor(id: string, scopes: string[]): TestApiKey {
  const secret = randomBytes(24).toString('base64url');
  return {
    id,
    secret,
    key: `${id}.${secret}`,
    entry: { id, sha256: createHash('sha256').update(secret).digest('hex'), scopes, description: `test key ${id}` },
    bearer: `Bearer ${id}.${secret}`,
    basic: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
  };
}

/**
 * Replaces `path` the way Kubernetes updates a mounted Secret or ConfigMap: the new content is
 * written to a temp file, then renamed over the old one, so a reader never sees half a file.
 */
export function replaceFile(path: string, content: string): void {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, content);
  renameSync(temp, path);
}
