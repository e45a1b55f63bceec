// One trace covers a recompute across both processes: the Brain's server span -> its client span
// per attempt (the first answered 503 by a fake upstream, the retry its own span) -> the Logger's
// server span -> the Logger's database spans. Both services export OTLP/HTTP JSON to a receiver
// written here.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from '../../../test-support/http.js';
import { eventually, logEvents, quiz, startFakeUpstream, startStack, type Stack } from './support.js';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  service: string;
}

const SERVER = 2;
const CLIENT = 3;

function startOtlpReceiver(): Promise<{ url: string; spans: Span[]; server: Server }> {
  const spans: Span[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const payload = JSON.parse(body) as { resourceSpans: any[] };
        for (const resourceSpans of payload.resourceSpans ?? []) {
          const service = resourceSpans.resource.attributes.find((a: any) => a.key === 'service.name')?.value.stringValue;
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) spans.push({ ...span, service });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server })),
  );
}

const attribute = (span: Span, ...keys: string[]) => {
  for (const key of keys) {
    const found = span.attributes.find((a) => a.key === key)?.value;
    if (found) return Object.values(found)[0];
  }
  return undefined;
};

test('a recompute is one trace: Brain server -> client span per attempt -> Logger server -> Logger db', async () => {
  const receiver = await startOtlpReceiver();
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  let fake: Awaited<ReturnType<typeof startFakeUpstream>> | undefined;
  let stack: Stack | undefined;
  try {
    stack = await startStack({
      loggerEnv: otel,
      brainEnv: { ...otel, FEED_CONSUMER_ENABLED: 'false' },
      upstreamUrl: async (loggerUrl) => {
        fake = await startFakeUpstream(loggerUrl);
        return fake.url;
      },
    });
    await logEvents(stack.logger.url, [quiz('traced', 'c', { score: 90 }), quiz('traced', 'c', { score: 10 })]);
    fake!.script.push({ status: 503 });
    const res = await request(`${stack.brain.url}/mastery/recompute/traced`, { method: 'POST' });
    expect(res.status).toBe(200);

    const spans = receiver.spans;
    const byId = (id: string | undefined) => spans.find((s) => s.spanId === id);
    const isAncestor = (ancestor: Span, span: Span | undefined): boolean => {
      for (let at = span; at; at = byId(at.parentSpanId)) if (at.parentSpanId === ancestor.spanId) return true;
      return false;
    };
    const brainServer = () => spans.find((s) => s.service === 'concept-mastery' && s.kind === SERVER && s.name.startsWith('POST'));
    const loggerDbSpans = (loggerServer: Span) =>
      spans.filter(
        (s) =>
          s.service === 'learning-events' &&
          s.kind !== SERVER &&
          isAncestor(loggerServer, s) &&
          attribute(s, 'db.system', 'db.system.name'),
      );
    // Spans arrive in batches from two processes; wait until the whole chain is in.
    await eventually(
      () => `the Brain's server span, the Logger's server span in its trace, and a database span under it (${spans.length} spans received)`,
      () => {
        const root = brainServer();
        if (!root) return false;
        const loggerServer = spans.find((s) => s.service === 'learning-events' && s.kind === SERVER && s.traceId === root.traceId);
        return loggerServer !== undefined && loggerDbSpans(loggerServer).length > 0;
      },
      { pollMs: 100 },
    );

    const root = brainServer()!;
    expect(root.parentSpanId || undefined).toBeUndefined();
    const clientSpans = spans.filter(
      (s) =>
        s.service === 'concept-mastery' &&
        s.kind === CLIENT &&
        s.traceId === root.traceId &&
        attribute(s, 'http.request.method', 'http.method'),
    );
    expect(clientSpans).toHaveLength(2); // one page, two attempts: 503, then 200
    for (const client of clientSpans) expect(isAncestor(root, client)).toBe(true);
    const statuses = clientSpans.map((s) => Number(attribute(s, 'http.response.status_code', 'http.status_code'))).sort();
    expect(statuses).toEqual([200, 503]);
    const retried = clientSpans.find((s) => Number(attribute(s, 'http.response.status_code', 'http.status_code')) === 200)!;

    const loggerServers = spans.filter((s) => s.service === 'learning-events' && s.kind === SERVER && s.traceId === root.traceId);
    expect(loggerServers).toHaveLength(1);
    const loggerServer = loggerServers[0]!;
    expect(loggerServer.parentSpanId).toBe(retried.spanId);
    const dbSpans = loggerDbSpans(loggerServer);
    expect(dbSpans.length).toBeGreaterThan(0);
    for (const db of dbSpans) expect(db.traceId).toBe(root.traceId);
    expect(dbSpans.map((s) => attribute(s, 'db.operation.name', 'db.operation'))).toContain('select');
    // The Brain's own writes of the recompute are in the same trace, under its server span.
    const brainDb = spans.filter(
      (s) => s.service === 'concept-mastery' && s.traceId === root.traceId && attribute(s, 'db.system.name', 'db.system'),
    );
    expect(brainDb.map((s) => attribute(s, 'db.operation.name', 'db.operation'))).toContain('insert');
    for (const db of brainDb) expect(isAncestor(root, db)).toBe(true);

    // pino's request line of the recompute carries the same trace (log writes are buffered: stop first).
    await stack.brain.kill('SIGTERM');
    const requestLine = stack.brain.output
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; route?: string; trace_id?: string; span_id?: string })
      .find((line) => line.msg === 'request' && line.route === '/mastery/recompute/:user_id');
    expect(requestLine).toMatchObject({ trace_id: root.traceId, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
  } finally {
    await stack?.stop();
    await fake?.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  }
});
