// Who is calling, and may they? Every API route names the scope it needs with `auth.require(scope)`;
// the middleware reads the Authorization header (a bearer JWT, an API key as bearer `<id>.<secret>`,
// or an API key as HTTP Basic), and answers 401 or 403 before the request is parsed or anything is
// changed. The answer never says which check failed; the log line and the metric do.
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { decodeJwt } from 'jose';
import { ConfigError, type ServiceConfig } from './config.js';
import { ForbiddenError, ServiceUnavailableError, UnauthenticatedError } from './errors.js';
import { checkApiKey, parseApiKeysFile, type ApiKeyEntry } from './api-keys.js';
import { JwtVerifier, KeysUnavailableError } from './jwt-verifier.js';
import { ReloadingFile } from './reloading-file.js';
import { SCOPES, grants, type Scope } from './scopes.js';
import { createAjv, toErrorDetails } from './validation.js';

export interface Principal {
  /** For logs: the JWT subject, `api-key:<id>`, or `anonymous` when authentication is off. */
  name: string;
  scopes: ReadonlySet<Scope>;
}

export interface Auth {
  /** Middleware: the request goes on only with a credential carrying `scope` (any, when auth is off). */
  require(scope: Scope): (ctx: Context, next: Next) => Promise<void>;
}

const FAILURE_REASONS = [
  'missing_credential',
  'malformed_header',
  'api_keys_not_configured',
  'jwt_not_configured',
  'unknown_api_key',
  'wrong_secret',
  'malformed_token',
  'unsupported_algorithm',
  'unknown_key',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'wrong_issuer',
  'wrong_audience',
  'invalid_claims',
  'keys_unavailable',
  'missing_scope',
] as const;

/** Seconds a client should wait before retrying while the issuer's keys cannot be fetched. */
const KEYS_UNAVAILABLE_RETRY_AFTER_S = 5;

const ANONYMOUS: Principal = { name: 'anonymous', scopes: new Set(SCOPES) };

const principalsFileSchema = {
  type: 'object',
  additionalProperties: { type: 'array', uniqueItems: true, items: { enum: SCOPES } },
};
const validatePrincipalsFile = createAjv().compile<Record<string, Scope[]>>(principalsFileSchema);

function parsePrincipalsFile(text: string): Map<string, ReadonlySet<Scope>> {
  const principals: unknown = JSON.parse(text);
  if (!validatePrincipalsFile(principals)) {
    const problems = toErrorDetails(validatePrincipalsFile.errors).map((d) => `${d.path || '/'} ${d.reason}`);
    throw new Error(`not a valid principals file: ${problems.join('; ')}`);
  }
  return new Map(Object.entries(principals).map(([subject, scopes]) => [subject, new Set(scopes)]));
}

/**
 * The service's authentication from its configuration. Throws ConfigError when `required` has no
 * credential source, or a named file cannot be read or parsed.
 */
export function createAuth(spec: { service: string; config: ServiceConfig; logger: Logger; registry: Registry }): Auth {
  const { service, config, logger } = spec;
  const failures = new Counter({
    name: 'auth_failures_total',
    help: 'Requests refused by authentication (401) or authorization (403), by reason.',
    labelNames: ['reason'] as const,
    registers: [spec.registry],
  });
  // Every reason exported at 0 from the start: rate() and increase() miss a series' first sample.
  for (const reason of FAILURE_REASONS) failures.inc({ reason }, 0);
  if (config.AUTH_MODE === 'off') {
    logger.warn('AUTH_MODE=off: every caller is trusted with every scope; set AUTH_MODE=required outside development');
    return {
      require: () =>
        async function trustEveryone(ctx: Context, next: Next) {
          ctx.state.principal = ANONYMOUS;
          await next();
        },
    };
  }
  const credentials = loadCredentialSources(service, config, logger);

  const refuse = (ctx: Context, reason: string, subject: string | undefined, credentialSent: boolean): never => {
    failures.inc({ reason });
    logger.info({ request_id: ctx.state.requestId, reason, ...(subject ? { principal: subject } : {}) }, 'authentication failed');
    throw new UnauthenticatedError(service, credentialSent);
  };

  async function authenticate(ctx: Context): Promise<Principal> {
    const header = ctx.get('authorization');
    if (header === '') return refuse(ctx, 'missing_credential', undefined, false);
    const credential = parseAuthorization(header);
    if (!credential) return refuse(ctx, 'malformed_header', undefined, true);
    if (credential.kind === 'api_key') {
      if (!credentials.apiKeys) return refuse(ctx, 'api_keys_not_configured', undefined, true);
      const check = checkApiKey(credentials.apiKeys.current(), credential.id, credential.secret);
      if (!check.ok) return refuse(ctx, check.reason, `api-key:${credential.id}`, true);
      return { name: `api-key:${check.entry.id}`, scopes: new Set(check.entry.scopes) };
    }
    if (!credentials.jwt) return refuse(ctx, 'jwt_not_configured', undefined, true);
    let check;
    try {
      check = await credentials.jwt.verify(credential.token);
    } catch (err) {
      if (!(err instanceof KeysUnavailableError)) throw err;
      failures.inc({ reason: 'keys_unavailable' });
      logger.warn({ request_id: ctx.state.requestId, reason: err.message }, 'cannot verify a token');
      throw new ServiceUnavailableError(
        "The token issuer's keys cannot be fetched right now; retry shortly.",
        KEYS_UNAVAILABLE_RETRY_AFTER_S,
      );
    }
    if (!check.ok) return refuse(ctx, check.reason, claimedSubject(credential.token), true);
    return { name: check.subject, scopes: credentials.principals?.current().get(check.subject) ?? new Set() };
  }

  return {
    require(scope) {
      return async function requireScope(ctx: Context, next: Next) {
        const principal = await authenticate(ctx);
        ctx.state.principal = principal;
        if (!grants(principal.scopes, scope)) {
          failures.inc({ reason: 'missing_scope' });
          logger.info({ request_id: ctx.state.requestId, principal: principal.name, scope }, 'missing scope');
          throw new ForbiddenError(scope);
        }
        await next();
      };
    },
  };
}

interface CredentialSources {
  jwt?: JwtVerifier;
  principals?: ReloadingFile<Map<string, ReadonlySet<Scope>>>;
  apiKeys?: ReloadingFile<Map<string, ApiKeyEntry>>;
}

function loadCredentialSources(service: string, config: ServiceConfig, logger: Logger): CredentialSources {
  if (config.AUTH_JWT_ISSUER === undefined && config.AUTH_API_KEYS_FILE === undefined) {
    throw new ConfigError(
      'AUTH_MODE=required needs a credential source: set AUTH_JWT_ISSUER (JWTs) and/or AUTH_API_KEYS_FILE (API keys), or AUTH_MODE=off.',
    );
  }
  const keepPrevious = (name: string) => (err: Error) =>
    logger.error({ reason: err.message }, `${name} changed but cannot be used; keeping the previous one`);
  try {
    const sources: CredentialSources = {};
    if (config.AUTH_JWT_ISSUER !== undefined) {
      sources.jwt = new JwtVerifier({
        issuer: config.AUTH_JWT_ISSUER,
        audience: config.AUTH_JWT_AUDIENCE ?? service,
        jwksUrl: config.AUTH_JWT_JWKS_URL,
        caFile: config.AUTH_JWT_CA_FILE,
        tokenFile: config.AUTH_JWT_JWKS_TOKEN_FILE,
      });
    }
    if (config.AUTH_PRINCIPALS_FILE !== undefined) {
      sources.principals = new ReloadingFile(config.AUTH_PRINCIPALS_FILE, parsePrincipalsFile, keepPrevious('AUTH_PRINCIPALS_FILE'));
    }
    if (config.AUTH_API_KEYS_FILE !== undefined) {
      sources.apiKeys = new ReloadingFile(config.AUTH_API_KEYS_FILE, parseApiKeysFile, keepPrevious('AUTH_API_KEYS_FILE'));
    }
    return sources;
  } catch (err) {
    throw new ConfigError(`Invalid authentication configuration: ${(err as Error).message}`);
  }
}

/** The `sub` an unverified token claims, for the log line of its refusal. */
function claimedSubject(token: string): string | undefined {
  try {
    const { sub } = decodeJwt(token);
    return typeof sub === 'string' ? `unverified:${sub}` : undefined;
  } catch {
    return undefined;
  }
}

type Credential = { kind: 'jwt'; token: string } | { kind: 'api_key'; id: string; secret: string };

/** `Bearer <jwt>`, `Bearer <id>.<secret>` or `Basic base64(<id>:<secret>)`; anything else is malformed. */
function parseAuthorization(header: string): Credential | undefined {
  const match = /^(Bearer|Basic) +([A-Za-z0-9._~+/=-]+) *$/i.exec(header);
  if (!match) return undefined;
  const [, scheme, value] = match as unknown as [string, string, string];
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return undefined;
    return { kind: 'api_key', id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  }
  const parts = value.split('.');
  if (parts.length === 3) return { kind: 'jwt', token: value };
  if (parts.length === 2 && parts[0] !== '' && parts[1] !== '') return { kind: 'api_key', id: parts[0]!, secret: parts[1]! };
  return undefined;
}
