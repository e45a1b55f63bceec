// Parses a JSON request body with a size limit, turning every way it can go wrong into its own
// error class: not JSON or not UTF-8 (415), too large (413), unparsable or empty (400). Any JSON
// value is parsed, so one of the wrong shape (null, 42) is the validator's 422, not a parse error.
import bodyParser from 'koa-bodyparser';
import type { Context, Next } from 'koa';
import { MalformedJsonError, PayloadTooLargeError, UnsupportedMediaTypeError, BadRequestError } from './errors.js';

export function jsonBody(options: { limitBytes: number }) {
  const parse = bodyParser({
    enableTypes: ['json'],
    // Every structured-syntax JSON type (application/vnd.example+json), as the check below admits.
    extendTypes: { json: ['+json'] },
    jsonLimit: `${options.limitBytes}b`,
    strict: false,
    onerror(err: Error & { type?: string; status?: number }) {
      if (err.type === 'entity.too.large' || err.status === 413) {
        throw new PayloadTooLargeError(`The request body exceeds the limit of ${options.limitBytes} bytes.`);
      }
      if (err.type === 'encoding.unsupported' || err.status === 415) {
        throw new UnsupportedMediaTypeError('The request body encoding is not supported.');
      }
      if (err.type === 'request.aborted') throw new BadRequestError('The request was aborted by the client.');
      throw new MalformedJsonError('The request body is not valid JSON.');
    },
  });
  return async function parseJsonBody(ctx: Context, next: Next): Promise<void> {
    if (!ctx.is('application/json', '+json')) {
      throw new UnsupportedMediaTypeError('The request body must be JSON (Content-Type: application/json).');
    }
    // JSON is UTF-8 (RFC 8259); the parser would decode any other charset as UTF-8 regardless.
    const charset = ctx.request.charset;
    if (charset && !/^utf-?8$/i.test(charset)) {
      throw new UnsupportedMediaTypeError(`The request body must be UTF-8 JSON, not ${charset}.`);
    }
    const declaredLength = Number(ctx.get('content-length'));
    if (declaredLength > options.limitBytes) {
      throw new PayloadTooLargeError(`The request body exceeds the limit of ${options.limitBytes} bytes.`);
    }
    await parse(ctx, async () => {
      if ((ctx.request as { rawBody?: string }).rawBody?.trim() === '') throw new MalformedJsonError('The request body is empty.');
      await next();
    });
  };
}
