// The Brain's client to the Learning Events Service. Each call has a per-attempt timeout and an
// overall deadline; network errors, timeouts, 408, 429 and 5xx are retried with exponential
// backoff and jitter (a Retry-After is honoured within the deadline), other 4xx never. Every
// attempt is its own HTTP request, so tracing shows one client span per attempt. Bodies are
// validated before use; failures surface as UpstreamError: unreachable 503, timed out 504,
// garbage 502.
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as wait } from 'node:timers/promises';
import got, { RequestError, TimeoutError } from 'got';
import type { ValidateFunction } from 'ajv';
import { UpstreamError, createAjv, toErrorDetails, type Logger } from '@learning-analytics/common';
import type { LearningEvent } from '../domain/learning-event.js';
import type { MasteryMetrics } from '../metrics.js';
import {
  upstreamFeedPageSchema,
  upstreamTimelinePageSchema,
  type UpstreamEvent,
  type UpstreamFeedPage,
} from '../schemas.js';

export interface LearningEventsClientOptions {
  baseUrl: string;
  timeoutMs: number;
  deadlineMs: number;
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Events per history page (the Logger allows up to 10,000). */
  pageSize: number;
  metrics: Pick<MasteryMetrics, 'clientRequests' | 'clientRetries'>;
  logger: Logger;
}

export interface FeedPage {
  events: LearningEvent[];
  nextAfter: number;
  headSeq: number;
}

interface AttemptFailure {
  error: UpstreamError;
  retriable: boolean;
  retryAfterMs?: number | undefined;
}

const SERVICE = 'The Learning Events Service';

export class LearningEventsClient {
  private readonly validateTimeline: ValidateFunction;
  private readonly validateFeed: ValidateFunction;

  constructor(private readonly options: LearningEventsClientOptions) {
    const ajv = createAjv();
    this.validateTimeline = ajv.compile(upstreamTimelinePageSchema);
    this.validateFeed = ajv.compile(upstreamFeedPageSchema);
  }

  /**
   * A student's full history, oldest first, one page at a time. The next page is requested before
   * the caller gets this one, so the Logger reads and serializes it while the caller folds: at most
   * two pages are held, however long the history is. The Logger's paging is a snapshot taken at
   * the first page: complete, never repeating. A caller that stops early cancels the request ahead.
   */
  async *userHistoryPages(userId: string): AsyncGenerator<LearningEvent[]> {
    const stopped = new AbortController();
    const fetchPage = (url: string) => {
      const page = this.getJson<UpstreamEvent[]>(url, this.validateTimeline, { signal: stopped.signal });
      page.catch(() => undefined); // awaited below, unless the caller stops first
      return { url, page };
    };
    let ahead: ReturnType<typeof fetchPage> | undefined = fetchPage(
      `${this.options.baseUrl}/events/${encodeURIComponent(userId)}?limit=${this.options.pageSize}`,
    );
    try {
      while (ahead !== undefined) {
        const { body, headers } = await ahead.page;
        const next = this.nextPageUrl(headers.link, ahead.url);
        ahead = next === undefined ? undefined : fetchPage(next);
        yield body.map(toLearningEvent);
      }
    } finally {
      stopped.abort();
    }
  }

  /** One page of the commit-ordered feed after `after`; with waitMs the Logger holds an empty page that long. */
  async readFeed(after: number, limit: number, waitMs: number, signal?: AbortSignal): Promise<FeedPage> {
    const url = `${this.options.baseUrl}/feed?after=${after}&limit=${limit}&wait_ms=${waitMs}`;
    const { body } = await this.getJson<UpstreamFeedPage>(url, this.validateFeed, { extraTimeMs: waitMs, signal });
    return { events: body.events.map(toLearningEvent), nextAfter: body.next_after, headSeq: body.head_seq };
  }

  private async getJson<T>(
    url: string,
    validate: ValidateFunction,
    call: { extraTimeMs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<{ body: T; headers: IncomingHttpHeaders }> {
    const { timeoutMs, deadlineMs, retries, metrics } = this.options;
    const extraTimeMs = call.extraTimeMs ?? 0;
    const deadlineAt = Date.now() + deadlineMs + extraTimeMs;
    // One signal for the attempts: aborted at the deadline or when the caller gives up.
    const abort = new AbortController();
    let deadlineReached = false;
    const deadlineTimer = setTimeout(() => {
      deadlineReached = true;
      abort.abort();
    }, deadlineMs + extraTimeMs);
    const callerGaveUp = () => abort.abort();
    call.signal?.addEventListener('abort', callerGaveUp, { once: true });
    try {
      for (let attempt = 0; ; attempt += 1) {
        if (attempt > 0) metrics.clientRetries.inc();
        const outcome = await this.attempt(url, timeoutMs + extraTimeMs, abort.signal);
        let failure: AttemptFailure;
        if ('response' in outcome) {
          const { response } = outcome;
          metrics.clientRequests.inc({ status: String(response.statusCode) });
          // A 200 with a body we cannot use is not retried: the same request would get the same answer.
          if (response.statusCode === 200) return { body: this.parse<T>(response.body, validate, url), headers: response.headers };
          failure = statusFailure(response.statusCode, response.headers['retry-after']);
        } else {
          if (call.signal?.aborted) {
            metrics.clientRequests.inc({ status: 'aborted' });
            throw outcome.error;
          }
          failure = errorFailure(outcome.error, deadlineReached);
          metrics.clientRequests.inc({ status: failure.error.status === 504 ? 'timeout' : 'network_error' });
        }
        const delay = this.backoffMs(attempt, failure.retryAfterMs);
        if (!failure.retriable || attempt >= retries || Date.now() + delay >= deadlineAt) throw failure.error;
        this.options.logger.debug(
          { attempt: attempt + 1, delay_ms: delay, reason: failure.error.message },
          'retrying the Learning Events Service',
        );
        // Aborted by the deadline: stop waiting; the next attempt then fails at once.
        await wait(delay, undefined, { signal: abort.signal }).catch(() => undefined);
      }
    } finally {
      clearTimeout(deadlineTimer);
      call.signal?.removeEventListener('abort', callerGaveUp);
    }
  }

  /** One HTTP request: its response (any status), or the error that prevented one. */
  private async attempt(
    url: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<{ response: { statusCode: number; body: string; headers: IncomingHttpHeaders } } | { error: unknown }> {
    try {
      const response = await got(url, {
        timeout: { request: timeoutMs },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
        responseType: 'text',
        headers: { accept: 'application/json' },
        signal,
      });
      return { response };
    } catch (error) {
      return { error };
    }
  }

  private parse<T>(text: string, validate: ValidateFunction, url: string): T {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new UpstreamError(502, 'upstream_bad_response', `${SERVICE} answered with a body that is not JSON.`);
    }
    if (!validate(body)) {
      const details = toErrorDetails(validate.errors).slice(0, 10);
      this.options.logger.warn({ url, details }, 'the Learning Events Service answered an unexpected body');
      throw new UpstreamError(502, 'upstream_bad_response', `${SERVICE} answered with an unexpected body.`, details);
    }
    return body as T;
  }

  /** Exponential backoff with "equal jitter" (half fixed, half random), raised to any Retry-After. */
  private backoffMs(attempt: number, retryAfterMs: number | undefined): number {
    const ceiling = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    return Math.round(Math.max(delay, retryAfterMs ?? 0));
  }

  /** The Link rel="next" target, resolved against the page's URL; only on the Logger's own origin. */
  private nextPageUrl(link: string | string[] | undefined, current: string): string | undefined {
    const target = nextLinkTarget(Array.isArray(link) ? link.join(', ') : link);
    if (target === undefined) return undefined;
    const next = new URL(target, current);
    if (next.origin !== new URL(this.options.baseUrl).origin) {
      throw new UpstreamError(502, 'upstream_bad_response', `${SERVICE} sent a next-page link to another origin.`);
    }
    return next.href;
  }
}

function toLearningEvent(event: UpstreamEvent): LearningEvent {
  const occurredAt = Date.parse(event.timestamp);
  const recordedAt = Date.parse(event.recorded_at);
  if (Number.isNaN(occurredAt) || Number.isNaN(recordedAt)) {
    throw new UpstreamError(502, 'upstream_bad_response', `${SERVICE} answered an event whose time is not a date.`, [
      { path: Number.isNaN(occurredAt) ? '/timestamp' : '/recorded_at', reason: 'must be a UTC instant' },
    ]);
  }
  return {
    event_id: event.event_id,
    user_id: event.user_id,
    event_type: event.event_type,
    concept_id: event.concept_id,
    event_details: event.event_details,
    occurredAt,
    recordedAt,
    seq: event.seq,
  };
}

/** Parses `<url>; rel="next"` out of a Link header (RFC 8288), ignoring other relations. */
export function nextLinkTarget(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const link of header.split(/,(?=\s*<)/)) {
    const parts = /^\s*<([^>]*)>(.*)$/s.exec(link);
    if (!parts) continue;
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(parts[2] ?? '');
    const relations = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (relations.includes('next')) return parts[1];
  }
  return undefined;
}

function statusFailure(status: number, retryAfter: string | undefined): AttemptFailure {
  const message = `${SERVICE} answered ${status}.`;
  const retryAfterMs = parseRetryAfter(retryAfter);
  if (status === 429 || status === 503) {
    return { error: new UpstreamError(503, 'upstream_unavailable', message), retriable: true, retryAfterMs };
  }
  if (status === 408 || status === 504) {
    return { error: new UpstreamError(504, 'upstream_timeout', message), retriable: true, retryAfterMs };
  }
  if (status >= 500) return { error: new UpstreamError(502, 'upstream_bad_response', message), retriable: true, retryAfterMs };
  return { error: new UpstreamError(502, 'upstream_bad_response', message), retriable: false };
}

function errorFailure(err: unknown, deadlineReached: boolean): AttemptFailure {
  if (deadlineReached) {
    return { error: new UpstreamError(504, 'upstream_timeout', `${SERVICE} did not answer within the deadline.`), retriable: false };
  }
  if (err instanceof TimeoutError) {
    return { error: new UpstreamError(504, 'upstream_timeout', `${SERVICE} did not answer in time.`), retriable: true };
  }
  const code = err instanceof RequestError ? err.code : (err as { code?: string }).code;
  return {
    error: new UpstreamError(503, 'upstream_unavailable', `${SERVICE} is unreachable${code ? ` (${code})` : ''}.`),
    retriable: true,
  };
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

