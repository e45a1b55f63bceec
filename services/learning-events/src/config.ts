// The Learning Events Service's configuration, from environment variables only.
import { readEnvConfig, parseList, serviceConfigProperties, type ServiceConfig } from '@learning-analytics/common';

const schema = {
  type: 'object',
  properties: {
    ...serviceConfigProperties({ port: 8000, databaseUrl: 'sqlite:data/learning-events.db' }),
    EVENT_TYPES: {
      type: 'string',
      pattern: '^\\s*[a-z][a-z0-9_]{0,63}\\s*(,\\s*[a-z][a-z0-9_]{0,63}\\s*)*$',
      default: 'quiz_attempt,video_watched,assignment_submitted',
      description: 'Comma-separated event types accepted by POST /events.',
    },
    BODY_LIMIT_BYTES: { type: 'integer', minimum: 1024, maximum: 16777216, default: 65536 },
    BATCH_BODY_LIMIT_BYTES: { type: 'integer', minimum: 1024, maximum: 268435456, default: 20971520 },
    READER_THREADS: {
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 2,
      description: 'Threads that run timeline and feed reads, each with its own read-only connection.',
    },
    MAX_CONCURRENT_READS: {
      type: 'integer',
      minimum: 1,
      maximum: 10000,
      default: 16,
      description: 'Timeline and feed reads admitted at once; beyond, 503 with Retry-After.',
    },
  },
} as const;

export interface Config extends ServiceConfig {
  EVENT_TYPES: string;
  BODY_LIMIT_BYTES: number;
  BATCH_BODY_LIMIT_BYTES: number;
  READER_THREADS: number;
  MAX_CONCURRENT_READS: number;
  eventTypes: string[];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = readEnvConfig<Omit<Config, 'eventTypes'>>(schema, env);
  return { ...config, eventTypes: [...new Set(parseList(config.EVENT_TYPES))] };
}
