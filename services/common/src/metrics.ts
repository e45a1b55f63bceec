// The Prometheus registry of a service: default process metrics plus the HTTP metrics every
// service shares. Services register their own metrics on the same registry.
import { Counter, Registry, Histogram, collectDefaultMetrics } from 'prom-client';

export interface ServiceMetrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  responseStreamErrors: Counter<'route'>;
}

export function createMetrics(): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges whose names end in _total break Prometheus naming (promtool check metrics flags them).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const responseStreamErrors = new Counter({
    name: 'http_response_stream_errors_total',
    help: 'Streamed answers (full timelines) cut off by an error after their status was sent; the connection was aborted.',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  return { registry, httpRequestDuration, responseStreamErrors };
}
