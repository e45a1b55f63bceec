// Runs a Koa app on a port and stops it gracefully on SIGTERM/SIGINT: readiness goes 503, the
// listener closes, in-flight requests finish, then the service's own resources close, a backup
// being written finishes and telemetry flushes, all within a bound. Exit 0 when that worked, 1
// when the bound ran out.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { ServiceState } from './app.js';
import type { ServiceConfig } from './config.js';
import { shutdownTelemetry } from './instrumentation.js';

export interface ServeOptions {
  app: Koa;
  /**
   * PORT and HOST to listen on; SHUTDOWN_TIMEOUT_MS bounds the whole shutdown; SHUTDOWN_DELAY_MS is
   * the time between SIGTERM and closing the listener, readiness answering 503 meanwhile, so a
   * load balancer stops routing here before connections are refused.
   */
  config: ServiceConfig;
  logger: Logger;
  state: ServiceState;
  /** Closes what the service owns (writers, consumers, database); runs after the last request finished. */
  close: () => Promise<void>;
}

export async function serve(options: ServeOptions): Promise<Server> {
  const { app, logger, config } = options;
  if (config.HEADERS_TIMEOUT_MS > config.REQUEST_TIMEOUT_MS) {
    throw new Error('HEADERS_TIMEOUT_MS must be at most REQUEST_TIMEOUT_MS');
  }
  // Bounds on what a client may hold: a slow or stalled request is answered 408 and closed, and
  // connections past the limit are closed at once. Node checks the timeouts every
  // connectionsCheckingInterval, so that is kept well below them.
  const server = createServer(
    {
      requestTimeout: config.REQUEST_TIMEOUT_MS,
      headersTimeout: config.HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(1000, config.HEADERS_TIMEOUT_MS / 2),
    },
    // Koa's handler returns a promise that settles once the answer is sent; node:http ignores it.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    app.callback(),
  );
  server.maxConnections = config.MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.config.PORT, options.config.HOST, () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  logger.info({ port, address }, 'listening');
  logger.flush(); // log writes are buffered: whoever waits for this line (supervisors, tests) sees it now

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void shutdown(server, options, signal).then(
      (clean) => process.exit(clean ? 0 : 1),
      (err: unknown) => {
        logger.fatal({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return server;
}

async function shutdown(server: Server, options: ServeOptions, signal: string): Promise<boolean> {
  const { logger, state } = options;
  const { SHUTDOWN_TIMEOUT_MS: timeoutMs, SHUTDOWN_DELAY_MS: delayMs } = options.config;
  const deadline = Date.now() + timeoutMs;
  logger.info({ signal, timeout_ms: timeoutMs, delay_ms: delayMs }, 'shutting down');
  state.startDraining();
  await sleep(Math.min(delayMs, timeoutMs));

  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive sockets that sit idle would hold close() open; busy ones close after their response
  // (the app answers with Connection: close while draining).
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  server.closeIdleConnections();
  const drained = await Promise.race([closed.then(() => true), sleep(deadline - Date.now()).then(() => false)]);
  clearInterval(sweep);
  if (!drained) {
    logger.error('shutdown bound reached with requests still in flight; closing their connections');
    server.closeAllConnections();
  }

  await options.close();
  const tasksFinished = await Promise.race([
    state.shutdownTasksFinished().then(() => true),
    sleep(deadline - Date.now()).then(() => false),
  ]);
  if (!tasksFinished) logger.error('shutdown bound reached with a backup still being written; exiting without it');
  await Promise.race([shutdownTelemetry(), sleep(Math.max(0, deadline - Date.now()))]);
  const clean = drained && tasksFinished;
  logger.info({ clean }, 'stopped');
  return clean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
}
