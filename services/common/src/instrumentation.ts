// OpenTelemetry for a service. Loaded with `node --import` before any application module, so the
// ESM loader hook can instrument knex and http (and got, through http) as they are imported.
// Koa's own instrumentation is left out on purpose: its spans cost about a third of a small
// request, and the app names the HTTP server span after the route instead (app.ts).
// Configured only by the standard OTEL_* variables. With no exporter configured, spans are still
// made (logs carry trace ids; context propagates to the services we call) but are not recorded:
// nothing would read them, and recording costs about a quarter of a small request.
import { register } from 'node:module';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, NoopSpanProcessor } from '@opentelemetry/sdk-trace';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KnexInstrumentation } from '@opentelemetry/instrumentation-knex';

let sdk: NodeSDK | undefined;

const exporterVariables = ['OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];

export function startTelemetry(defaultServiceName: string): void {
  if (process.env.OTEL_SDK_DISABLED === 'true') return;
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  process.env.OTEL_SERVICE_NAME ||= defaultServiceName;
  // Metrics are Prometheus' job (prom-client) and logs go to stdout: the SDK exports neither
  // unless explicitly asked to.
  process.env.OTEL_METRICS_EXPORTER ||= 'none';
  process.env.OTEL_LOGS_EXPORTER ||= 'none';
  const exportConfigured = exporterVariables.some((name) => process.env[name]);
  sdk = new NodeSDK({
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => isProbeOrScrape(req.url) }),
      new KnexInstrumentation(),
    ],
    ...(exportConfigured
      ? {}
      : {
          spanProcessors: [new NoopSpanProcessor()],
          ...(process.env.OTEL_TRACES_SAMPLER ? {} : { sampler: new AlwaysOffSampler() }),
        }),
  });
  sdk.start();
}

export async function shutdownTelemetry(): Promise<void> {
  await sdk?.shutdown();
}

function isProbeOrScrape(url: string | undefined): boolean {
  return url === '/health' || url === '/ready' || url === '/metrics';
}
