// pino JSON logs; every line made inside a traced request carries its trace_id and span_id.
import { pino, type Logger } from 'pino';
import { trace, context, isSpanContextValid } from '@opentelemetry/api';

export type { Logger };

export function createLogger(options: { level: string; service: string }): Logger {
  // Buffered, asynchronous writes to stdout: a synchronous write per request line costs more than
  // the request itself. The buffer is flushed on exit; a SIGKILL can lose its last few lines.
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  return pino({
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
  }, destination);
}
