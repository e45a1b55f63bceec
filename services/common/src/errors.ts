// The failure classes every service throws. One middleware (http-errors.ts) turns them into the
// common JSON body; handlers never format errors themselves.

export interface ErrorDetail {
  /** JSON Pointer into the request (body, query or path) that the detail is about; "" for the whole. */
  path: string;
  reason: string;
}

/** An error answer names at most this many details, and counts the others in `details_omitted`. */
export const MAX_ERROR_DETAILS = 100;

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  readonly details: ErrorDetail[];
  /** Details left out of `details`, beyond MAX_ERROR_DETAILS. */
  readonly omitted: number;

  constructor(message: string, details: ErrorDetail[] = [], omitted = 0) {
    super(message);
    this.name = new.target.name;
    this.details = details.slice(0, MAX_ERROR_DETAILS);
    this.omitted = omitted + Math.max(0, details.length - MAX_ERROR_DETAILS);
  }

  /** Response headers the answer must carry besides the body, e.g. Allow or WWW-Authenticate. */
  headers(): Record<string, string> {
    return {};
  }
}

export class MalformedJsonError extends AppError {
  readonly status = 400;
  readonly code = 'malformed_json';
}

export class BadRequestError extends AppError {
  readonly status = 400;
  readonly code = 'bad_request';
}

export class ValidationError extends AppError {
  readonly status = 422;
  readonly code = 'validation_failed';
}

/** No credential, or one that failed a check; the answer does not say which (the log line does). */
export class UnauthenticatedError extends AppError {
  readonly status = 401;
  readonly code = 'unauthenticated';

  constructor(
    /** The service's name, the challenge's realm. */
    readonly realm: string,
    /** Whether a credential was sent (then the challenge says it was invalid). */
    readonly credentialSent: boolean,
  ) {
    super(credentialSent ? 'The credential is not valid.' : 'This request needs a credential: a bearer token, or an API key.');
  }

  override headers(): Record<string, string> {
    const challenge = `Bearer realm="${this.realm}"`;
    return { 'WWW-Authenticate': this.credentialSent ? `${challenge}, error="invalid_token"` : challenge };
  }
}

/** A valid credential without the scope the route needs. */
export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly code = 'forbidden';

  constructor(readonly missingScope: string) {
    super(`This request needs the scope ${missingScope}, which the credential does not carry.`, [
      { path: '', reason: `missing scope ${missingScope}` },
    ]);
  }
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'not_found';
}

export class MethodNotAllowedError extends AppError {
  readonly status = 405;
  readonly code = 'method_not_allowed';

  constructor(
    message: string,
    readonly allowed: string[],
  ) {
    super(message);
  }

  override headers(): Record<string, string> {
    return { Allow: this.allowed.join(', ') };
  }
}

export class ConflictError extends AppError {
  readonly status = 409;
  readonly code = 'conflict';
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly code = 'payload_too_large';
}

export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
}

export class ServiceUnavailableError extends AppError {
  readonly status = 503;
  readonly code = 'service_unavailable';

  constructor(
    message: string,
    /** Sent as Retry-After when given: when the caller may try again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  override headers(): Record<string, string> {
    return this.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(this.retryAfterSeconds) };
  }
}

/**
 * A dependency we call failed: unreachable (503), timed out (504), answered garbage (502) or
 * refused our credential (502, upstream_refused).
 */
export class UpstreamError extends AppError {
  constructor(
    readonly status: 502 | 503 | 504,
    readonly code: 'upstream_bad_response' | 'upstream_unavailable' | 'upstream_timeout' | 'upstream_refused',
    message: string,
    details: ErrorDetail[] = [],
  ) {
    super(message, details);
  }
}
