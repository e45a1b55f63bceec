// Verifies bearer JWTs (Kubernetes ServiceAccount tokens, any OIDC provider's) with jose against
// the issuer's JWKS: signature, `iss`, `aud`, `exp`/`nbf` with 60 s of skew, asymmetric algorithms
// only. jose caches the keys and refetches them when a token names an unknown `kid`. The keys are
// fetched on first use, so a service starts while its issuer is briefly unreachable.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';

export interface JwtVerifierOptions {
  issuer: string;
  audience: string;
  /** Default: the `jwks_uri` of the issuer's discovery document. */
  jwksUrl?: string | undefined;
  /** PEM CA bundle trusted for the discovery document and JWKS (e.g. the Kubernetes API server's). */
  caFile?: string | undefined;
  /** Bearer token sent with those fetches; re-read on every fetch, since the kubelet rotates it. */
  tokenFile?: string | undefined;
}

const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const CLOCK_SKEW_SECONDS = 60;
const FETCH_TIMEOUT_MS = 5000;

/** Why a token was refused; the metric's `reason` label and the log line's. */
export type TokenFailure =
  | 'malformed_token'
  | 'unsupported_algorithm'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'invalid_claims';

export type TokenCheck = { ok: true; subject: string } | { ok: false; reason: TokenFailure };

/** The issuer's keys could not be fetched: the token cannot be judged either way. */
export class KeysUnavailableError extends Error {
  override name = 'KeysUnavailableError';
}

export class JwtVerifier {
  private keys: Promise<JWTVerifyGetKey> | undefined;
  private readonly ca: string | undefined;

  constructor(private readonly options: JwtVerifierOptions) {
    this.ca = options.caFile === undefined ? undefined : readFileSync(options.caFile, 'utf8');
    if (options.tokenFile !== undefined) readFileSync(options.tokenFile, 'utf8'); // must exist at start
  }

  async verify(token: string): Promise<TokenCheck> {
    const keys = await this.keySet();
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ASYMMETRIC_ALGORITHMS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'sub'],
      });
      return { ok: true, subject: payload.sub! };
    } catch (err) {
      const reason = tokenFailure(err);
      if (reason === undefined) throw new KeysUnavailableError(`the issuer's keys could not be fetched: ${(err as Error).message}`);
      return { ok: false, reason };
    }
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    this.keys ??= this.jwksUrl().then(
      (url) => createRemoteJWKSet(new URL(url), { timeoutDuration: FETCH_TIMEOUT_MS, [customFetch]: this.fetch }),
      (err: Error) => {
        this.keys = undefined; // the next request tries the discovery again
        throw new KeysUnavailableError(`the issuer's discovery document could not be read: ${err.message}`);
      },
    );
    return this.keys;
  }

  private async jwksUrl(): Promise<string> {
    if (this.options.jwksUrl !== undefined) return this.options.jwksUrl;
    const discovery = `${this.options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const response = await this.fetch(discovery, { headers: new Headers(), signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (response.status !== 200) throw new Error(`${discovery} answered ${response.status}`);
    const { jwks_uri: jwksUri } = (await response.json()) as { jwks_uri?: unknown };
    if (typeof jwksUri !== 'string' || !/^https?:\/\//.test(jwksUri)) throw new Error(`${discovery} names no jwks_uri`);
    return jwksUri;
  }

  /** fetch() over node:http(s), which can trust a given CA; fetch alone trusts only the built-in roots. */
  private readonly fetch = (url: string, init: { headers: Headers; signal: AbortSignal }): Promise<Response> => {
    const headers = Object.fromEntries(init.headers);
    if (this.options.tokenFile !== undefined) headers.authorization = `Bearer ${readFileSync(this.options.tokenFile, 'utf8').trim()}`;
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const outgoing = request(url, { headers, signal: init.signal, ...(this.ca ? { ca: this.ca } : {}) }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (typeof value === 'string') responseHeaders.set(name, value);
          }
          resolve(new Response(Buffer.concat(chunks), { status: incoming.statusCode ?? 502, headers: responseHeaders }));
        });
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
  };
}

/** The refusal a jose error stands for; undefined when the error is about fetching the keys. */
function tokenFailure(err: unknown): TokenFailure | undefined {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'not_yet_valid';
    if (err.claim === 'iss') return 'wrong_issuer';
    if (err.claim === 'aud') return 'wrong_audience';
    return 'invalid_claims';
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return 'unknown_key';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'unsupported_algorithm';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JWKInvalid) return 'malformed_token';
  return undefined;
}
