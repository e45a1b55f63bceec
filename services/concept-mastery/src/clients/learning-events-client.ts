// The Brain's client to the Learning Events Service, on got's own retries. Each call has a
// per-attempt timeout and an overall deadline; network errors, timeouts, 408, 429 and 5xx are
// retried with exponential backoff and jitter (a Retry-After is honoured within the deadline),
// other 4xx never (a 401 or 403 means the Logger refused our credential: upstream_refused). Every
// attempt is its own HTTP request, so tracing shows one client span per attempt. Bodies are
// validated before use; failures surface as UpstreamError: unreachable 503, timed out 504,
// garbage or refused 502.
import type { IncomingHttpHeaders } from 'node:http';
import got, { HTTPError, RequestError, TimeoutError, type Response } from 'got';
import type { ValidateFunction } from 'ajv';
import { UpstreamError, createAjv, toErrorDetails, type Logger } from '@learning-analytics/common';
import type { FeedEvent, LearningEvent } from '../domain/learning-event.js';
import type { MasteryMetrics } from '../metrics.js';
import {
  upstreamEventSchema,
  upstreamFeedPageSchema,
  upstreamPositionSchema,
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
  /** The Authorization header value of every request, read anew for each (a token file rotates); none when undefined. */
  authorization?: (() => string) | undefined;
}

export interface ErasureMarker {
  seq: number;
  position: string;
  userIdSha256: string;
}

/** A feed event the Brain cannot use (malformed), set aside with the reason. */
export interface UnusableEvent {
  seq: number;
  position: string;
  eventId: string | undefined;
  reason: string;
}

export interface FeedPage {
  /** In feed order (by position). */
  events: FeedEvent[];
  /** Events of the page that failed validation, in feed order. */
  unusable: UnusableEvent[];
  /** Erasures among the events' positions: merge by position for feed order. */
  erasures: ErasureMarker[];
  /** The position of the page's last item, or the cursor asked with when the page is empty: where to go on from. */
  nextCursor: string;
  /** The highest committed seq: for lag estimates only, it says nothing about positions. */
  headSeq: number;
}

/** One page of a settled timeline listing. */
export interface HistoryPage {
  /** Every event of the page at a position up to settledThrough, and no other. */
  events: LearningEvent[];
  /**
   * The listing's Feed-Settled-Through (the same on every page): every event of the student at a
   * position up to it is in the listing, and none at such a position can appear later. The events
   * committed above it, behind a transaction still open, the feed brings later.
   */
  settledThrough: string;
}

const SERVICE = 'The Learning Events Service';

export class LearningEventsClient {
  private readonly validateTimeline: ValidateFunction;
  private readonly validateFeed: ValidateFunction;
  private readonly validateEvent: ValidateFunction;
  private readonly validatePosition: ValidateFunction;

  constructor(private readonly options: LearningEventsClientOptions) {
    const ajv = createAjv();
    this.validateTimeline = ajv.compile(upstreamTimelinePageSchema);
    this.validateFeed = ajv.compile(upstreamFeedPageSchema);
    this.validateEvent = ajv.compile(upstreamEventSchema);
    this.validatePosition = ajv.compile(upstreamPositionSchema);
  }

  /**
   * A student's settled history (of one concept, when given; see HistoryPage), oldest first, one
   * page at a time. The next page is requested before
   * the caller gets this one, so the Logger reads and serializes it while the caller folds: at most
   * two pages are held, however long the history is. The Logger's paging is a snapshot taken at
   * the first page: complete, never repeating. A caller that stops early, or aborts `signal`,
   * cancels the request ahead.
   */
  async *userHistoryPages(userId: string, options: { conceptId?: string; signal?: AbortSignal } = {}): AsyncGenerator<HistoryPage> {
    const { conceptId } = options;
    const stopped = new AbortController();
    const signal = options.signal ? AbortSignal.any([stopped.signal, options.signal]) : stopped.signal;
    const fetchPage = (url: string) => {
      const page = this.getJson<UpstreamEvent[]>(url, this.validateTimeline, { signal });
      page.catch(() => undefined); // awaited below, unless the caller stops first
      return { url, page };
    };
    const concept = conceptId === undefined ? '' : `/${encodeURIComponent(conceptId)}`;
    // settled=true: only what the feed can never place before an event the consumer has applied.
    let ahead: ReturnType<typeof fetchPage> | undefined = fetchPage(
      `${this.options.baseUrl}/events/${encodeURIComponent(userId)}${concept}?limit=${this.options.pageSize}&settled=true`,
    );
    let settledThrough: string | undefined;
    try {
      while (ahead !== undefined) {
        const { body, headers } = await ahead.page;
        settledThrough ??= this.settledThrough(headers);
        const next = this.nextPageUrl(headers.link, ahead.url);
        ahead = next === undefined ? undefined : fetchPage(next);
        yield { events: body.map(toLearningEvent), settledThrough };
      }
    } finally {
      stopped.abort();
    }
  }

  /** One page of the feed after the position `cursor`; with waitMs the Logger holds an empty page that long. */
  async readFeed(cursor: string, limit: number, waitMs: number, signal?: AbortSignal): Promise<FeedPage> {
    const url = `${this.options.baseUrl}/feed?cursor=${encodeURIComponent(cursor)}&limit=${limit}&wait_ms=${waitMs}`;
    const { body } = await this.getJson<UpstreamFeedPage>(url, this.validateFeed, { extraTimeMs: waitMs, signal });
    const events: FeedEvent[] = [];
    const unusable: UnusableEvent[] = [];
    for (const item of body.events as Array<Partial<UpstreamEvent> & { seq: number; position: string }>) {
      const problem = this.eventProblem(item);
      if (problem === undefined) events.push({ ...toLearningEvent(item as UpstreamEvent), position: item.position });
      else
        unusable.push({
          seq: item.seq,
          position: item.position,
          eventId: typeof item.event_id === 'string' ? item.event_id.slice(0, 64) : undefined,
          reason: problem,
        });
    }
    return {
      events,
      unusable,
      erasures: (body.erasures ?? []).map((marker) => ({
        seq: marker.seq,
        position: marker.position,
        userIdSha256: marker.user_id_sha256,
      })),
      nextCursor: body.next_cursor,
      headSeq: body.head_seq,
    };
  }

  /** A timeline's Feed-Settled-Through header, which the Brain cannot fold without. */
  private settledThrough(headers: IncomingHttpHeaders): string {
    const value = headers['feed-settled-through'];
    if (!this.validatePosition(value)) {
      throw new UpstreamError(502, 'upstream_bad_response', `${SERVICE} answered a timeline without a valid Feed-Settled-Through header.`, [
        { path: 'header:/feed-settled-through', reason: value === undefined ? 'is missing' : 'is not a feed position' },
      ]);
    }
    return value as string;
  }

  /** Why a feed event cannot be used, or undefined when it can. */
  private eventProblem(item: Record<string, unknown>): string | undefined {
    if (!this.validateEvent(item)) {
      return toErrorDetails(this.validateEvent.errors)
        .slice(0, 3)
        .map((d) => `${d.path || '/'} ${d.reason}`)
        .join('; ');
    }
    const { timestamp, recorded_at: recordedAt } = item as UpstreamEvent;
    if (Number.isNaN(Date.parse(timestamp)) || Number.isNaN(Date.parse(recordedAt))) return 'a time that is no date';
    return undefined;
  }

  /**
   * One GET with got's own retries: each attempt is its own request (its own span), bounded by the
   * per-attempt timeout; the whole call, waits included, by the deadline or the caller's signal.
   */
  private async getJson<T>(
    url: string,
    validate: ValidateFunction,
    call: { extraTimeMs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<{ body: T; headers: IncomingHttpHeaders }> {
    const { timeoutMs, deadlineMs, retries, retryBaseMs, retryMaxMs, metrics, logger } = this.options;
    const allowedMs = deadlineMs + (call.extraTimeMs ?? 0);
    const deadline = AbortSignal.timeout(allowedMs);
    const deadlineAt = Date.now() + allowedMs;
    let response: Response<string>;
    try {
      response = await got(url, {
        timeout: { request: timeoutMs + (call.extraTimeMs ?? 0) },
        followRedirect: false,
        responseType: 'text',
        headers: { accept: 'application/json' },
        signal: call.signal ? AbortSignal.any([deadline, call.signal]) : deadline,
        retry: {
          limit: retries,
          methods: ['GET'],
          statusCodes: RETRIED_STATUSES,
          // A Retry-After is honoured as long as the deadline allows the wait (checked below).
          maxRetryAfter: allowedMs,
          calculateDelay: ({ attemptCount, retryAfter }) => {
            const delay = Math.max(equalJitter(attemptCount, retryBaseMs, retryMaxMs), retryAfter ?? 0);
            return Date.now() + delay < deadlineAt ? delay : 0;
          },
        },
        hooks: {
          beforeRequest: [
            (request) => {
              if (this.options.authorization) request.headers.authorization = this.options.authorization();
            },
          ],
          afterResponse: [
            (answer) => {
              metrics.clientRequests.inc({ status: String(answer.statusCode) });
              return answer;
            },
          ],
          beforeRetry: [
            (error, retryCount) => {
              if (!error.response) metrics.clientRequests.inc({ status: attemptFailureLabel(error) });
              metrics.clientRetries.inc();
              logger.debug({ attempt: retryCount, reason: error.message }, 'retrying the Learning Events Service');
            },
          ],
        },
      });
    } catch (err) {
      const answered = err instanceof HTTPError;
      if (call.signal?.aborted) {
        if (!answered) metrics.clientRequests.inc({ status: 'aborted' });
        throw err;
      }
      if (!answered) metrics.clientRequests.inc({ status: deadline.aborted ? 'timeout' : attemptFailureLabel(err) });
      throw upstreamFailure(err, deadline.aborted);
    }
    // A 200 with a body we cannot use is not retried: the same request would get the same answer.
    if (response.statusCode !== 200) throw upstreamFailure(undefined, false, response.statusCode);
    return { body: this.parse<T>(response.body, validate, url), headers: response.headers };
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
      // The path, not the URL: a timeline's URL names the student, and logs carry no raw student ids.
      const { pathname } = new URL(url);
      const resource = pathname.startsWith('/events/') ? '/events/:user_id' : pathname;
      this.options.logger.warn({ resource, details }, 'the Learning Events Service answered an unexpected body');
      throw new UpstreamError(502, 'upstream_bad_response', `${SERVICE} answered with an unexpected body.`, details);
    }
    return body as T;
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

/** Answered again after a wait: the Logger (or what stands in front of it) may recover. */
const RETRIED_STATUSES = [408, 429, ...Array.from({ length: 100 }, (_, i) => 500 + i)];

/** Exponential backoff with "equal jitter" (half fixed, half random) before retry `attempt` (1, 2, ...). */
export function equalJitter(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

function attemptFailureLabel(err: unknown): string {
  return err instanceof TimeoutError ? 'timeout' : 'network_error';
}

/** What the caller is told when the Logger could not be read: unreachable 503, timed out 504, anything else 502. */
function upstreamFailure(
  err: unknown,
  deadlineReached: boolean,
  status = err instanceof HTTPError ? err.response.statusCode : undefined,
): UpstreamError {
  if (status !== undefined) {
    const message = `${SERVICE} answered ${status}.`;
    if (status === 429 || status === 503) return new UpstreamError(503, 'upstream_unavailable', message);
    if (status === 408 || status === 504) return new UpstreamError(504, 'upstream_timeout', message);
    if (status === 401 || status === 403) {
      return new UpstreamError(
        502,
        'upstream_refused',
        `${SERVICE} refused the Concept Mastery Service's credential (${status}): check LEARNING_EVENTS_TOKEN_FILE or LEARNING_EVENTS_API_KEY, and the scope events:read.`,
      );
    }
    return new UpstreamError(502, 'upstream_bad_response', message);
  }
  if (deadlineReached) return new UpstreamError(504, 'upstream_timeout', `${SERVICE} did not answer within the deadline.`);
  if (err instanceof TimeoutError) return new UpstreamError(504, 'upstream_timeout', `${SERVICE} did not answer in time.`);
  const code = err instanceof RequestError ? err.code : (err as { code?: string }).code;
  return new UpstreamError(503, 'upstream_unavailable', `${SERVICE} is unreachable${code ? ` (${code})` : ''}.`);
}
