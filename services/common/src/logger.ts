// pino JSON logs; every line made inside a traced request carries its trace_id and span_id.
// Student ids are personal data: a `user_id` in any log line is written as a keyed pseudonym
// unless raw ids are asked for (for debugging).
import { createHmac, randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { trace, context, isSpanContextValid } from '@opentelemetry/api';

export type { Logger };

export interface StudentIdLogging {
  /** `pseudonym`: HMAC-SHA-256 of the id under the key, shortened; `raw`: the id itself. */
  mode: 'pseudonym' | 'raw';
  /** With a key, pseudonyms are the same across restarts and replicas; without, per process. */
  key?: string | undefined;
}

/** How a student id is written in logs. */
export function studentIdForLogs({ mode, key }: StudentIdLogging): (userId: string) => string {
  if (mode === 'raw') return (userId) => userId;
  const secret = key ?? randomBytes(32).toString('hex');
  return (userId) => `p-${createHmac('sha256', secret).update(userId).digest('hex').slice(0, 20)}`;
}

export function createLogger(options: { level: string; service: string; studentIds: StudentIdLogging }): Logger {
  const forLogs = studentIdForLogs(options.studentIds);
  // Asynchronous writes to stdout: lines logged while a write is in flight go out together in the
  // next one, instead of one blocking write per request. Nothing waits for a buffer to fill, so
  // a quiet service still logs at once. Pending lines are flushed on exit (not on SIGKILL).
  const destination = pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => (typeof object.user_id === 'string' ? { ...object, user_id: forLogs(object.user_id) } : object),
      },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'config.databaseUrl'],
        censor: '[redacted]',
      },
      mixin() {
        const spanContext = trace.getSpan(context.active())?.spanContext();
        if (!spanContext || !isSpanContextValid(spanContext)) return {};
        return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
      },
    },
    destination,
  );
}
