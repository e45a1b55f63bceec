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
    const utf8 = watchUtf8(ctx);
    await parse(ctx, async () => {
      if (!utf8.valid()) throw new BadRequestError('The request body is not valid UTF-8.', [{ path: '', reason: 'invalid UTF-8' }]);
      if ((ctx.request as { rawBody?: string }).rawBody?.trim() === '') throw new MalformedJsonError('The request body is empty.');
      await next();
    });
  };
}

/**
 * Checks the body's bytes as the parser reads them. The parser decodes invalid UTF-8 into U+FFFD
 * without a word, so two different ids would arrive as one. A compressed body is not watched: its
 * bytes here are not the text (the parser inflates it).
 */
function watchUtf8(ctx: Context): { valid(): boolean } {
  const encoding = ctx.get('content-encoding');
  if (encoding !== '' && encoding.toLowerCase() !== 'identity') return { valid: () => true };
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let valid = true;
  const check = (bytes?: Buffer) => {
    if (!valid) return;
    try {
      decoder.decode(bytes, { stream: bytes !== undefined });
    } catch {
      valid = false;
    }
  };
  ctx.req.on('data', check);
  return {
    valid() {
      ctx.req.off('data', check);
      check(); // a sequence cut off at the end of the body
      return valid;
    },
  };
}
