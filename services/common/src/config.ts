// Configuration comes from environment variables only, validated once at boot against a JSON
// Schema. A bad value stops the start with a message naming the variable.
import { createAjv, toErrorDetails } from './validation.js';
import type { DatabaseSettings } from './db.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Validates `env` against `schema` (an object schema whose property names are the variable names),
 * applying defaults and coercing strings to the declared types.
 */
export function readEnvConfig<T>(schema: object, env: NodeJS.ProcessEnv): T {
  const ajv = createAjv({ coerceTypes: true });
  const validate = ajv.compile(schema);
  const properties = Object.keys((schema as { properties: Record<string, unknown> }).properties);
  const candidate: Record<string, unknown> = {};
  for (const name of properties) {
    const value = env[name];
    if (value !== undefined && value !== '') candidate[name] = value;
  }
  if (!validate(candidate)) {
    const problems = toErrorDetails(validate.errors).map((d) => `${d.path.slice(1) || 'environment'} ${d.reason}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return candidate as T;
}

/** Parses a comma-separated list variable into trimmed, non-empty items. */
export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** The variables every service reads; each service adds its own and picks its defaults. */
export function serviceConfigProperties(defaults: { port: number; databaseUrl: string }) {
  return {
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: defaults.port },
    HOST: { type: 'string', minLength: 1, default: '0.0.0.0' },
    DATABASE_URL: {
      type: 'string',
      pattern: '^(sqlite:.+|postgres(ql)?://.+)$',
      default: defaults.databaseUrl,
      description: 'sqlite:<path>, relative to the working directory or absolute; or postgres://user:password@host:5432/dbname.',
    },
    DATABASE_POOL_SIZE: {
      type: 'integer',
      minimum: 1,
      maximum: 100,
      default: 10,
      description: 'PostgreSQL: connections per pool (the main thread, the writer thread and each reader thread have one).',
    },
    DATABASE_STATEMENT_TIMEOUT_MS: {
      type: 'integer',
      minimum: 0,
      maximum: 3600000,
      default: 30000,
      description: 'PostgreSQL: a statement running longer is cancelled (0: no limit).',
    },
    DATABASE_CONNECT_TIMEOUT_MS: {
      type: 'integer',
      minimum: 100,
      maximum: 600000,
      default: 10000,
      description: 'PostgreSQL: how long opening a connection, or waiting for a free one, may take.',
    },
    LOG_LEVEL: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    LOG_STUDENT_IDS: {
      enum: ['pseudonym', 'raw'],
      default: 'pseudonym',
      description: 'How student ids appear in logs: a keyed pseudonym, or raw (for debugging).',
    },
    LOG_PSEUDONYM_KEY: {
      type: 'string',
      minLength: 16,
      description: 'Key of the log pseudonyms; the same key gives the same pseudonyms across restarts and replicas.',
    },
    REQUEST_TIMEOUT_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 600000,
      default: 30000,
      description: 'A client must have sent its whole request (headers and body) within this long.',
    },
    HEADERS_TIMEOUT_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 600000,
      default: 10000,
      description: 'A client must have sent its request headers within this long; at most REQUEST_TIMEOUT_MS.',
    },
    MAX_CONNECTIONS: {
      type: 'integer',
      minimum: 1,
      maximum: 1000000,
      default: 1024,
      description: 'Open connections per process; further ones are closed at once.',
    },
    AUTH_MODE: {
      enum: ['required', 'off'],
      default: 'off',
      description: 'required: every API route needs a credential with its scope; off: every caller is trusted.',
    },
    AUTH_JWT_ISSUER: {
      type: 'string',
      pattern: '^https?://[^\\s]+$',
      description: 'The `iss` of the JWTs to accept (a Kubernetes ServiceAccount issuer or any OIDC provider).',
    },
    AUTH_JWT_JWKS_URL: {
      type: 'string',
      pattern: '^https?://[^\\s]+$',
      description: "The issuer's JWKS; default: the jwks_uri of <issuer>/.well-known/openid-configuration.",
    },
    AUTH_JWT_AUDIENCE: { type: 'string', minLength: 1, description: "The `aud` a token must carry; default: the service's name." },
    AUTH_JWT_CA_FILE: { type: 'string', minLength: 1, description: 'PEM CA bundle trusted when fetching the discovery document and JWKS.' },
    AUTH_JWT_JWKS_TOKEN_FILE: {
      type: 'string',
      minLength: 1,
      description: 'Bearer token sent when fetching the discovery document and JWKS (re-read on every fetch).',
    },
    AUTH_API_KEYS_FILE: { type: 'string', minLength: 1, description: 'JSON array of API keys: [{id, sha256, scopes, description}].' },
    AUTH_PRINCIPALS_FILE: { type: 'string', minLength: 1, description: 'JSON object from a JWT subject to its scopes.' },
    SHUTDOWN_TIMEOUT_MS: { type: 'integer', minimum: 0, maximum: 600000, default: 10000 },
    SHUTDOWN_DELAY_MS: {
      type: 'integer',
      minimum: 0,
      maximum: 600000,
      default: 0,
      description: 'After SIGTERM, keep serving (readiness 503) this long before closing the listener.',
    },
    BACKUP_DIR: {
      type: 'string',
      minLength: 1,
      description: 'Directory (a second volume) that scheduled backups of the database are written to; unset: no scheduled backups.',
    },
    BACKUP_INTERVAL_SECONDS: {
      type: 'integer',
      minimum: 1,
      // A week: well below the longest delay a Node timer holds (2^31 - 1 ms, about 24.8 days).
      maximum: 604800,
      default: 3600,
      description: 'Time between scheduled backups; the first is taken this long after start-up.',
    },
    BACKUP_KEEP: {
      type: 'integer',
      minimum: 1,
      maximum: 10000,
      default: 24,
      description: 'Scheduled backups kept in BACKUP_DIR; the oldest are deleted after each new one.',
    },
  } as const;
}

export interface ServiceConfig {
  PORT: number;
  HOST: string;
  DATABASE_URL: string;
  DATABASE_POOL_SIZE: number;
  DATABASE_STATEMENT_TIMEOUT_MS: number;
  DATABASE_CONNECT_TIMEOUT_MS: number;
  LOG_LEVEL: string;
  LOG_STUDENT_IDS: 'pseudonym' | 'raw';
  LOG_PSEUDONYM_KEY?: string | undefined;
  REQUEST_TIMEOUT_MS: number;
  HEADERS_TIMEOUT_MS: number;
  MAX_CONNECTIONS: number;
  AUTH_MODE: 'required' | 'off';
  AUTH_JWT_ISSUER?: string | undefined;
  AUTH_JWT_JWKS_URL?: string | undefined;
  AUTH_JWT_AUDIENCE?: string | undefined;
  AUTH_JWT_CA_FILE?: string | undefined;
  AUTH_JWT_JWKS_TOKEN_FILE?: string | undefined;
  AUTH_API_KEYS_FILE?: string | undefined;
  AUTH_PRINCIPALS_FILE?: string | undefined;
  SHUTDOWN_TIMEOUT_MS: number;
  SHUTDOWN_DELAY_MS: number;
  BACKUP_DIR?: string | undefined;
  BACKUP_INTERVAL_SECONDS: number;
  BACKUP_KEEP: number;
}

/** The database settings of a service's configuration. */
export function databaseSettings(config: ServiceConfig): DatabaseSettings {
  return {
    url: config.DATABASE_URL,
    poolSize: config.DATABASE_POOL_SIZE,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
  };
}
