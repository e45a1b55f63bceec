// The Concept Mastery Service's configuration, from environment variables only.
import { ConfigError, readEnvConfig, serviceConfigProperties, type ServiceConfig } from '@learning-analytics/common';
import { MODEL_NAMES } from './models.js';

const schema = {
  type: 'object',
  properties: {
    ...serviceConfigProperties({ port: 8001, databaseUrl: 'sqlite:data/concept-mastery.db' }),
    LEARNING_EVENTS_URL: {
      type: 'string',
      pattern: '^https?://[^\\s]+$',
      default: 'http://127.0.0.1:8000',
      description: 'Base URL of the Learning Events Service.',
    },
    LEARNING_EVENTS_TOKEN_FILE: {
      type: 'string',
      minLength: 1,
      description: 'File holding the bearer token sent to the Logger (re-read when it changes).',
    },
    LEARNING_EVENTS_API_KEY: {
      type: 'string',
      pattern: '^[A-Za-z0-9_-]{1,64}\\.[A-Za-z0-9._~+/=-]+$',
      description: 'An API key `<id>.<secret>` sent to the Logger as a bearer credential.',
    },
    LEARNING_EVENTS_TIMEOUT_MS: { type: 'integer', minimum: 1, maximum: 600000, default: 5000 },
    LEARNING_EVENTS_DEADLINE_MS: { type: 'integer', minimum: 1, maximum: 3600000, default: 15000 },
    LEARNING_EVENTS_RETRIES: { type: 'integer', minimum: 0, maximum: 20, default: 3 },
    LEARNING_EVENTS_RETRY_BASE_MS: { type: 'integer', minimum: 1, maximum: 60000, default: 100 },
    LEARNING_EVENTS_RETRY_MAX_MS: { type: 'integer', minimum: 1, maximum: 600000, default: 2000 },
    LEARNING_EVENTS_PAGE_SIZE: { type: 'integer', minimum: 1, maximum: 10000, default: 10000 },
    PASS_SCORE: { type: 'number', minimum: 0, maximum: 100, default: 60 },
    RECOMPUTE_CONCURRENCY: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 4,
      description: 'Recomputes running at once; one more is answered 503 with Retry-After.',
    },
    RECOMPUTE_DEADLINE_MS: {
      type: 'integer',
      minimum: 1,
      maximum: 3600000,
      default: 120000,
      description: 'A recompute not done by then ends with 504, writing nothing.',
    },
    MASTERY_DEFAULT_MODEL: {
      enum: MODEL_NAMES,
      default: 'pass_ratio',
      description: 'The model GET /mastery answers without ?model=.',
    },
    FEED_CONSUMER_ENABLED: { type: 'boolean', default: true },
    FEED_WAIT_MS: { type: 'integer', minimum: 0, maximum: 5000, default: 5000 },
    FEED_PAGE_SIZE: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
    FEED_BACKOFF_MAX_MS: { type: 'integer', minimum: 1, maximum: 600000, default: 10000 },
    MASTERY_CACHE_STUDENTS: { type: 'integer', minimum: 0, maximum: 10000000, default: 10000 },
  },
} as const;

export interface Config extends ServiceConfig {
  /** Base URL of the Learning Events Service. */
  LEARNING_EVENTS_URL: string;
  /** A file holding the bearer token the Brain sends to the Logger. */
  LEARNING_EVENTS_TOKEN_FILE?: string | undefined;
  /** Or an API key of the Logger's, `<id>.<secret>`. */
  LEARNING_EVENTS_API_KEY?: string | undefined;
  /** Bound on one HTTP attempt to the Logger. */
  LEARNING_EVENTS_TIMEOUT_MS: number;
  /** Bound on one call to the Logger, every retry and backoff included. */
  LEARNING_EVENTS_DEADLINE_MS: number;
  /** Retries after the first attempt, on network errors, timeouts, 408, 429 and 5xx. */
  LEARNING_EVENTS_RETRIES: number;
  /** First backoff; doubles per retry, with jitter. */
  LEARNING_EVENTS_RETRY_BASE_MS: number;
  /** Cap on one backoff (a longer Retry-After is still honoured, within the deadline). */
  LEARNING_EVENTS_RETRY_MAX_MS: number;
  /** Events per history page read by a recompute. */
  LEARNING_EVENTS_PAGE_SIZE: number;
  /** A quiz_attempt whose event_details.score is at least this passes. */
  PASS_SCORE: number;
  /** Recomputes running at once; one more is answered 503. */
  RECOMPUTE_CONCURRENCY: number;
  /** Bound on one recompute, end to end. */
  RECOMPUTE_DEADLINE_MS: number;
  /** The model GET /mastery answers without ?model=. */
  MASTERY_DEFAULT_MODEL: string;
  FEED_CONSUMER_ENABLED: boolean;
  /** Long-poll wait of each feed request. */
  FEED_WAIT_MS: number;
  /** Events per feed page, applied in one transaction. */
  FEED_PAGE_SIZE: number;
  /** Cap on the consumer's backoff while the Logger is unreachable. */
  FEED_BACKOFF_MAX_MS: number;
  /** Students whose records GET /mastery keeps in memory (least recently read evicted first); 0 disables. */
  MASTERY_CACHE_STUDENTS: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = readEnvConfig<Config>(schema, env);
  if (config.LEARNING_EVENTS_TOKEN_FILE !== undefined && config.LEARNING_EVENTS_API_KEY !== undefined) {
    throw new ConfigError('Invalid configuration: set LEARNING_EVENTS_TOKEN_FILE or LEARNING_EVENTS_API_KEY, not both.');
  }
  return { ...config, LEARNING_EVENTS_URL: config.LEARNING_EVENTS_URL.replace(/\/+$/, '') };
}
