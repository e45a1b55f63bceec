// pino JSON logs; every line made inside a traced request carries its trace_id and span_id.
import { pino, type Logger } from 'pino';
import { trace, context, isSpanContextValid } from '@opentelemetry/api';

export type { Logger };

export function createLogger(options: { level: string; service: string }): Logger {
  // Asynchronous writes to stdout: lines logged while a write is in flight go out together in the
  // next one, instead of one blocking write per request. Nothing waits for a buffer to fill, so
  // a quiet service still logs at once. Pending lines are flushed on exit (not on SIGKILL).
  const destination = pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
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
