// HTTP in, HTTP out for logging events and reading timelines. No SQL here: the writer stores, the
// reader threads read.
import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { Type } from '@sinclair/typebox';
import {
  AppError,
  BadRequestError,
  ConflictError,
  ValidationError,
  auditLog,
  compileValidator,
  createAjv,
  jsonBody,
  type Auth,
  type Logger,
} from '@learning-analytics/common';
import type { Config } from '../config.js';
import type { LoggerMetrics } from '../metrics.js';
import type { EventWriter } from '../data/event-writer.js';
import { parseInstant, toEventView, toNewEvent, type NewEvent } from '../domain/events.js';
import { settledThrough, type TimelineFilter, type TimelinePosition } from '../data/event-store.js';
import type { ReaderPool } from '../data/reader-pool.js';
import {
  eventBatchSchema,
  eventInputSchema,
  timelineQuerySchema,
  userConceptPathSchema,
  userPathSchema,
  type EventInput,
  type TimelineQuery,
} from '../schemas.js';
import { decodeCursor, encodeCursor } from './timeline-cursor.js';
import type { ReadSlots } from './read-slots.js';

export interface EventsRoutesDeps {
  reads: ReaderPool;
  readSlots: ReadSlots;
  auth: Auth;
  writer: EventWriter;
  config: Config;
  metrics: LoggerMetrics;
  logger: Logger;
}

/** Rows fetched per query while streaming a whole timeline. */
const STREAM_PAGE = 1000;

export function eventsRouter({ reads, readSlots, auth, writer, config, metrics, logger }: EventsRoutesDeps): Router {
  const bodyAjv = createAjv();
  const paramAjv = createAjv({ coerceTypes: true });
  const validateEvent = compileValidator<EventInput>(bodyAjv, eventInputSchema(config.eventTypes), 'body');
  const validateBatch = compileValidator<EventInput[]>(bodyAjv, eventBatchSchema(config.eventTypes), 'body');
  const validateUserPath = compileValidator<{ user_id: string }>(paramAjv, userPathSchema, 'path');
  const validateUserConceptPath = compileValidator<{ user_id: string; concept_id: string }>(paramAjv, userConceptPathSchema, 'path');
  const validateTimelineQuery = compileValidator<TimelineQuery>(paramAjv, timelineQuerySchema, 'query');
  const validateConceptTimelineQuery = compileValidator<TimelineQuery>(paramAjv, Type.Omit(timelineQuerySchema, ['concept_id']), 'query');

  async function countRejections(ctx: Context, next: Next) {
    try {
      await next();
    } catch (err) {
      if (err instanceof AppError) {
        const body: unknown = ctx.request.body;
        metrics.eventsRejected.inc({ reason: err.code }, Array.isArray(body) && body.length > 0 ? body.length : 1);
      }
      throw err;
    }
  }

  const router = new Router();

  router.post(
    ['/events', '/events/'],
    auth.require('events:write'),
    countRejections,
    jsonBody({ limitBytes: config.BODY_LIMIT_BYTES }),
    async (ctx) => {
      const event = parseEvent(validateEvent(ctx.request.body), Date.now(), '');
      const [outcome] = await writer.append([event]);
      if (outcome!.status === 'conflict') {
        throw new ConflictError(`Event ${event.event_id} is already stored with different content.`, [
          { path: '/event_id', reason: 'already stored with different content' },
        ]);
      }
      if (outcome!.status === 'created') {
        metrics.eventsIngested.inc({ event_type: event.event_type });
        ctx.status = 201;
        ctx.set('Location', `/events/${encodeURIComponent(event.user_id)}/${encodeURIComponent(event.concept_id)}`);
      } else {
        ctx.status = 200;
      }
      ctx.body = toEventView(outcome!.event);
    },
  );

  router.post(
    '/events/batch',
    auth.require('events:write'),
    countRejections,
    jsonBody({ limitBytes: config.BATCH_BODY_LIMIT_BYTES }),
    async (ctx) => {
      const inputs = validateBatch(ctx.request.body);
      rejectRepeatedIds(inputs);
      const receivedAt = Date.now();
      const events = inputs.map((input, i) => parseEvent(input, receivedAt, `/${i}`));
      const outcomes = await writer.append(events);
      const conflicts = outcomes.flatMap((o, i) => (o.status === 'conflict' ? [i] : []));
      if (conflicts.length > 0) {
        throw new ConflictError(
          'Some event_ids are already stored with different content; nothing was stored.',
          conflicts.map((i) => ({ path: `/${i}/event_id`, reason: 'already stored with different content' })),
        );
      }
      let created = 0;
      for (const outcome of outcomes) {
        if (outcome.status !== 'created') continue;
        created += 1;
        metrics.eventsIngested.inc({ event_type: outcome.event.event_type });
      }
      ctx.status = created > 0 ? 201 : 200;
      ctx.body = {
        created,
        duplicates: outcomes.length - created,
        items: outcomes.map((o) => ({ event_id: o.event.event_id, seq: o.event.seq, status: o.status })),
      };
    },
  );

  router.get('/events/:user_id', auth.require('events:read'), async (ctx) => {
    const { user_id } = validateUserPath(ctx.params);
    const query = validateTimelineQuery({ ...ctx.query });
    await respondWithTimeline(ctx, { userId: user_id, conceptId: query.concept_id, ...timeRange(query) }, query);
  });

  router.get('/events/:user_id/:concept_id', auth.require('events:read'), async (ctx) => {
    const { user_id, concept_id } = validateUserConceptPath(ctx.params);
    const query = validateConceptTimelineQuery({ ...ctx.query });
    await respondWithTimeline(ctx, { userId: user_id, conceptId: concept_id, ...timeRange(query) }, query);
  });

  router.delete('/events/:user_id', auth.require('admin'), async (ctx) => {
    const { user_id } = validateUserPath(ctx.params);
    const { eventsDeleted } = await writer.erase(user_id);
    auditLog(logger, ctx, 'erase_student_events', { user_id, events_deleted: eventsDeleted });
    ctx.body = { user_id, events_deleted: eventsDeleted };
  });

  async function respondWithTimeline(ctx: Context, filter: TimelineFilter, query: TimelineQuery) {
    filter.eventType = query.event_type;
    filter.settled = query.settled;
    ctx.type = 'application/json';
    if (query.limit === undefined) {
      if (query.cursor !== undefined) {
        throw new BadRequestError('A cursor needs a limit.', [{ path: 'query:/cursor', reason: 'requires limit' }]);
      }
      // The slot is held until the last byte is sent or the client goes away.
      const release = readSlots.take();
      ctx.res.once('close', release);
      try {
        const start = { snapshot: await reads.read({ kind: 'snapshot' }) };
        ctx.set(SETTLED_THROUGH, settledThrough(start.snapshot));
        ctx.body = Readable.from(streamTimeline(reads, filter, start, release));
      } catch (err) {
        release();
        throw err;
      }
      return;
    }
    const limit = query.limit;
    const position = query.cursor ? decodeCursor(query.cursor) : undefined;
    const page = await readSlots.run(async () => {
      const start = position ?? { snapshot: await reads.read({ kind: 'snapshot' }) };
      ctx.set(SETTLED_THROUGH, settledThrough(start.snapshot));
      return reads.read({ kind: 'timelinePage', filter, position: start, limit });
    });
    if (page.more) {
      const next = new URLSearchParams(ctx.querystring);
      next.set('cursor', encodeCursor(page.next!));
      ctx.set('Link', `<${ctx.path}?${next.toString()}>; rel="next"`);
    }
    ctx.body = Buffer.concat([OPEN_ARRAY, page.json, CLOSE_ARRAY]);
  }

  return router;
}

function parseEvent(input: EventInput, receivedAt: number, path: string): NewEvent {
  const event = toNewEvent(input, receivedAt);
  if (Number.isNaN(event.occurred_at)) {
    throw new ValidationError('The request body does not match the schema.', [
      { path: `${path}/timestamp`, reason: 'must be an instant in years 0000-9999 UTC, not a leap second' },
    ]);
  }
  return event;
}

function rejectRepeatedIds(inputs: EventInput[]) {
  const firstIndex = new Map<string, number>();
  const details: { path: string; reason: string }[] = [];
  inputs.forEach((input, i) => {
    if (input.event_id === undefined) return;
    const id = input.event_id.toLowerCase();
    const first = firstIndex.get(id);
    if (first === undefined) firstIndex.set(id, i);
    else details.push({ path: `/${i}/event_id`, reason: `repeats the event_id of item ${first}` });
  });
  if (details.length > 0) throw new ValidationError('A batch may not repeat an event_id.', details);
}

function timeRange(query: TimelineQuery): Pick<TimelineFilter, 'sinceMs' | 'untilMs'> {
  return { sinceMs: queryInstant(query.since, 'since'), untilMs: queryInstant(query.until, 'until') };
}

function queryInstant(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseInstant(text);
  if (ms === undefined) {
    throw new BadRequestError('Invalid query parameters.', [
      { path: `query:/${name}`, reason: 'must be an instant in years 0000-9999 UTC, not a leap second' },
    ]);
  }
  return ms;
}

/** Every event of the listing's snapshot at a feed position up to this header's is in the listing. */
export const SETTLED_THROUGH = 'Feed-Settled-Through';
const OPEN_ARRAY = Buffer.from('[');
const CLOSE_ARRAY = Buffer.from(']');
const COMMA = Buffer.from(',');

async function* streamTimeline(
  reads: ReaderPool,
  filter: TimelineFilter,
  start: TimelinePosition,
  done: () => void,
): AsyncGenerator<Uint8Array> {
  try {
    yield OPEN_ARRAY;
    let position = start;
    let first = true;
    for (;;) {
      const page = await reads.read({ kind: 'timelinePage', filter, position, limit: STREAM_PAGE });
      if (page.count > 0) {
        if (!first) yield COMMA;
        yield page.json;
        first = false;
      }
      if (!page.more) break;
      position = page.next!;
    }
    yield CLOSE_ARRAY;
  } finally {
    done();
  }
}
