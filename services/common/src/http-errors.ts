// Maps every failure to the one JSON error body: {"error": {"code", "message", "details"}}.
// Bad input never becomes a 500 and no response ever carries a stack trace.
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { AppError, ServiceUnavailableError } from './errors.js';
import { isTransientDatabaseError } from './database-errors.js';

export interface ErrorBody {
  error: { code: string; message: string; details: { path: string; reason: string }[]; details_omitted?: number };
}

export function errorHandler(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      const appError = asAppError(err);
      if (appError) {
        respond(ctx, appError.status, appError.code, appError.message, appError.details, appError.omitted);
        ctx.set(appError.headers());
        return;
      }
      const status = httpStatusOf(err);
      if (status !== undefined && status >= 400 && status < 500) {
        respond(ctx, status, 'bad_request', (err as Error).message);
        return;
      }
      logger.error({ err }, 'unhandled error');
      respond(ctx, 500, 'internal_error', 'An internal error occurred.');
    }
  };
}

function respond(ctx: Context, status: number, code: string, message: string, details: ErrorBody['error']['details'] = [], omitted = 0) {
  ctx.status = status;
  ctx.body = { error: { code, message, details, ...(omitted > 0 ? { details_omitted: omitted } : {}) } } satisfies ErrorBody;
}

/** Seconds a caller should wait after the database was busy or out of reach. */
const BUSY_RETRY_AFTER_S = 1;

function asAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  // Another connection holds the write lock (an operator's migration or backup, say), or the
  // database server is away for a moment: the request can succeed later.
  if (isTransientDatabaseError(err)) {
    return new ServiceUnavailableError('The database is busy or out of reach; retry shortly.', BUSY_RETRY_AFTER_S);
  }
  return undefined;
}

function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const value = status ?? statusCode;
  return typeof value === 'number' ? value : undefined;
}
