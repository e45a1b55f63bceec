// createServiceApp builds the Koa app every service shares: request ids, one log line and one
// histogram observation per request, the error mapping, health/readiness/metrics/docs routes, and
// JSON 404/405 answers. It never listens; lifecycle.ts does.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import Koa, { type Context, type Next } from 'koa';
import Router from '@koa/router';
import type { Logger } from 'pino';
import { trace } from '@opentelemetry/api';
import type { ServiceMetrics } from './metrics.js';
import { errorHandler } from './http-errors.js';
import type { Principal } from './auth.js';
import { apiDocsRouter } from './api-docs.js';
import { BadRequestError, MethodNotAllowedError, NotFoundError, ServiceUnavailableError } from './errors.js';

/** Shared by the app and the lifecycle: once draining, readiness fails and connections close. */
export class ServiceState {
  draining = false;
  private readonly drainListeners: Array<() => void> = [];
  private readonly shutdownTasks: Array<() => Promise<void>> = [];
  private shutdownTasksDone: Promise<void> = Promise.resolve();

  /** Runs `listener` when shutdown begins, e.g. to release long-polling requests. */
  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  /**
   * Runs `task` when shutdown begins, and the process exits only after it finished (or the
   * shutdown bound ran out): for work that must not be cut off, such as a backup being written.
   * A task reports its own failures; it never rejects.
   */
  onShutdown(task: () => Promise<void>): void {
    this.shutdownTasks.push(task);
  }

  startDraining(): void {
    if (this.draining) return;
    this.draining = true;
    for (const listener of this.drainListeners) listener();
    this.shutdownTasksDone = Promise.all(this.shutdownTasks.map((task) => task())).then(() => undefined);
  }

  /** Resolves once every onShutdown task started by startDraining has finished. */
  shutdownTasksFinished(): Promise<void> {
    return this.shutdownTasksDone;
  }
}

export interface ServiceAppOptions {
  title: string;
  logger: Logger;
  metrics: ServiceMetrics;
  state: ServiceState;
  openapi: object;
  routers: Router[];
  /** Resolves when the service can take traffic (database answers, migrations current); throws otherwise. */
  checkReady: () => Promise<void>;
}

/** A caller's X-Request-Id is kept (echoed and logged) when it looks like an id; anything else is replaced. */
const requestIdPattern = /^[\w.:-]{1,128}$/;

/** Routes probed or scraped every few seconds: logged at debug level so they do not drown real traffic. */
const quietRoutes = new Set(['/health', '/ready', '/metrics']);

export function createServiceApp(options: ServiceAppOptions): Koa {
  const { logger, metrics, state } = options;
  const app = new Koa({ proxy: true });
  app.silent = true; // every error is logged by errorHandler, once

  app.use(async function observeRequest(ctx: Context, next: Next) {
    const started = process.hrtime.bigint();
    const offered = ctx.get('x-request-id');
    const requestId = requestIdPattern.test(offered) ? offered : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    if (state.draining) ctx.set('Connection', 'close');
    const observe = () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const statusCode = String(ctx.status);
      const span = trace.getActiveSpan();
      if (span && route !== 'unmatched') {
        span.setAttribute('http.route', route);
        span.updateName(`${ctx.method} ${route}`);
      }
      metrics.httpRequestDuration.observe({ method: ctx.method, route, status_code: statusCode }, seconds);
      const line = {
        request_id: requestId,
        method: ctx.method,
        route,
        ...pathForLogs(ctx, route),
        ...(ctx.state.principal ? { principal: (ctx.state.principal as Principal).name } : {}),
        status_code: ctx.status,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
        ...(ctx.state.streamFailed ? { stream_failed: true } : {}),
      };
      if (quietRoutes.has(route)) logger.debug(line, 'request');
      else logger.info(line, 'request');
    };
    try {
      await next();
    } finally {
      // A streamed answer is observed once it is sent (or cut off), so its duration covers the body.
      if (ctx.body instanceof Readable) {
        watchStream(ctx, ctx.body, logger, metrics);
        ctx.res.once('close', observe);
      } else {
        observe();
      }
    }
  });
  app.use(errorHandler(logger));
  app.use(rejectMalformedPath);
  app.use(async function answerUnroutedAsJson(ctx: Context, next: Next) {
    await next();
    if (ctx.body !== undefined && ctx.body !== null) return;
    if (ctx.status === 405 || ctx.status === 501) {
      const allowed = (ctx.response.get('Allow') || '')
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean);
      throw new MethodNotAllowedError(`Method ${ctx.method} is not allowed on ${ctx.path}.`, allowed);
    }
    if (ctx.status === 404) throw new NotFoundError(`No route for ${ctx.method} ${ctx.path}.`);
  });

  // Every route in one router: a request is matched once instead of once per router, and a 405's
  // Allow header names every method its path takes.
  const router = new Router();
  for (const routes of [systemRouter(options), apiDocsRouter(options.openapi, options.title), ...options.routers]) {
    router.use(routes.routes());
  }
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/**
 * An error in the middle of a streamed answer, its status long sent: logged, counted, and the
 * connection aborted, so the client sees a failed response rather than a short valid-looking one.
 */
function watchStream(ctx: Context, body: Readable, logger: Logger, metrics: ServiceMetrics): void {
  body.once('error', (err) => {
    ctx.state.streamFailed = true;
    const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
    metrics.responseStreamErrors.inc({ route });
    logger.error({ err, request_id: ctx.state.requestId, route }, 'a streamed answer failed midway; connection aborted');
    ctx.res.destroy();
  });
}

/**
 * A path that is not valid percent-encoded UTF-8 (`%ZZ`, a lone `%E9`, an overlong `%C0%AF`) is a
 * bad request: the router would otherwise use the undecodable text as a literal id.
 */
async function rejectMalformedPath(ctx: Context, next: Next): Promise<void> {
  try {
    decodeURIComponent(ctx.path);
  } catch {
    throw new BadRequestError('The request path is not valid percent-encoded UTF-8.', [
      { path: 'path:', reason: 'malformed percent-encoding' },
    ]);
  }
  await next();
}

/**
 * The request's path for its log line. A path naming a student keeps `:user_id` in its place and
 * the id goes in `user_id`, which the logger writes as a pseudonym (see logger.ts).
 */
function pathForLogs(ctx: Context, route: string): { path: string; user_id?: string } {
  const params = (ctx as Context & { params?: Record<string, string> }).params;
  const userId = params?.user_id;
  if (userId === undefined || route === 'unmatched') return { path: ctx.path };
  const path = route.replace(/:(\w+)/g, (placeholder, name: string) =>
    name === 'user_id' ? placeholder : encodeURIComponent(params?.[name] ?? ''),
  );
  return { path, user_id: userId };
}

function systemRouter({ metrics, state, checkReady }: ServiceAppOptions): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/ready', async (ctx) => {
    if (state.draining) throw new ServiceUnavailableError('The service is shutting down.');
    try {
      await checkReady();
    } catch (err) {
      throw new ServiceUnavailableError(`Not ready: ${(err as Error).message}`);
    }
    ctx.body = { status: 'ready' };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}
