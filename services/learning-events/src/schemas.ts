// The JSON Schemas of the Learning Events API. ajv validates requests with them and the OpenAPI
// document publishes them, so the two cannot drift.
import { Type, type Static } from '@sinclair/typebox';
import { EXACT_NUMBERS, MAX_JSON_BYTES, identifierSchema as identifier } from '@learning-analytics/common';

/** A feed position as text (see feedPosition in common). */
const FEED_POSITION_PATTERN = '^[0-9]{20}\\.[0-9]{16}$';

export const MAX_BATCH_ITEMS = 1000;
export const MAX_DETAILS_BYTES = 16 * 1024;
export const MAX_PAGE_LIMIT = 10_000;
export const MAX_FEED_WAIT_MS = 5_000;

const rfc3339 = (description: string) => Type.String({ format: 'date-time', description });

const eventDetailsSchema = Type.Object(
  {
    score: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Quiz score, 0-100.' })),
    correct: Type.Optional(Type.Boolean({ description: 'Whether a quiz attempt was correct.' })),
  },
  {
    additionalProperties: true,
    default: {},
    [MAX_JSON_BYTES]: MAX_DETAILS_BYTES,
    [EXACT_NUMBERS]: true,
    description: `Free-form details, at most ${MAX_DETAILS_BYTES} bytes as JSON. A quiz_attempt must hold score or correct.`,
  },
);

export function eventInputSchema(eventTypes: string[]) {
  return Type.Object(
    {
      user_id: identifier('The student.'),
      event_type: Type.String({ enum: eventTypes, description: 'One of the configured event types.' }),
      concept_id: identifier('The concept the event is about.'),
      event_details: Type.Optional(eventDetailsSchema),
      event_id: Type.Optional(Type.String({ format: 'uuid', description: 'Client-chosen UUID: the idempotency key.' })),
      timestamp: Type.Optional(rfc3339('When it happened: RFC 3339 with an offset. Stored with millisecond precision. Default: now.')),
    },
    {
      additionalProperties: false,
      if: { type: 'object', properties: { event_type: { const: 'quiz_attempt' } }, required: ['event_type'] },
      then: {
        type: 'object',
        required: ['event_details'],
        properties: {
          event_details: {
            type: 'object',
            anyOf: [
              { type: 'object', required: ['score'] },
              { type: 'object', required: ['correct'] },
            ],
          },
        },
      },
    },
  );
}

export type EventInput = Static<ReturnType<typeof eventInputSchema>>;

export function eventBatchSchema(eventTypes: string[]) {
  return Type.Array(eventInputSchema(eventTypes), { minItems: 1, maxItems: MAX_BATCH_ITEMS });
}

const positionSchema = (description: string) =>
  Type.String({
    pattern: FEED_POSITION_PATTERN,
    description: `${description} Positions compare as strings (byte-wise) in feed order.`,
  });

export const storedEventSchema = Type.Object(
  {
    event_id: Type.String({ format: 'uuid' }),
    user_id: Type.String(),
    event_type: Type.String(),
    concept_id: Type.String(),
    event_details: Type.Object({}, { additionalProperties: true }),
    timestamp: Type.String({ format: 'date-time', description: 'When it happened, UTC.' }),
    recorded_at: Type.String({ format: 'date-time', description: 'When the service received it, UTC.' }),
    seq: Type.Integer({ minimum: 1, description: 'Assigned at the insert, increasing: the order of one writer, not of the feed.' }),
    position: positionSchema('Where the event sits in the feed.'),
  },
  { additionalProperties: false },
);

export const batchResultSchema = Type.Object(
  {
    created: Type.Integer({ description: 'Events stored by this request.' }),
    duplicates: Type.Integer({ description: 'Items skipped because their event_id was already stored with the same content.' }),
    items: Type.Array(
      Type.Object({
        event_id: Type.String({ format: 'uuid' }),
        seq: Type.Integer(),
        status: Type.Union([Type.Literal('created'), Type.Literal('duplicate')]),
      }),
      { description: 'One entry per submitted item, in order.' },
    ),
  },
  { additionalProperties: false },
);

export const userPathSchema = Type.Object({ user_id: identifier('The student.') });
export const userConceptPathSchema = Type.Object({
  user_id: identifier('The student.'),
  concept_id: identifier('The concept.'),
});

export const timelineQuerySchema = Type.Object(
  {
    concept_id: Type.Optional(identifier('Only events about this concept.')),
    event_type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    settled: Type.Optional(
      Type.Boolean({
        description:
          'true: only the events up to the Feed-Settled-Through position, for consumers that must agree with the feed (the rest will come through it).',
      }),
    ),
    since: Type.Optional(rfc3339('Only events at or after this time.')),
    until: Type.Optional(rfc3339('Only events before this time.')),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, description: 'Page size; the next page is in the Link header.' }),
    ),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'Opaque; taken from a Link header.' })),
  },
  { additionalProperties: false },
);

export type TimelineQuery = Static<typeof timelineQuerySchema>;

export const feedQuerySchema = Type.Object(
  {
    cursor: Type.Optional(
      Type.String({
        pattern: FEED_POSITION_PATTERN,
        description: 'Return what follows this position: the next_cursor of the previous page. Absent: from the beginning.',
      }),
    ),
    after: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Instead of cursor, for consumers upgrading from the seq-ordered feed: the last next_after they were given.',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: 1000 })),
    wait_ms: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_FEED_WAIT_MS,
        default: 0,
        description: 'Long poll: when nothing follows the cursor, wait up to this long for the next commit.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type FeedQuery = Static<typeof feedQuerySchema> & { limit: number; wait_ms: number };

export const erasureMarkerSchema = Type.Object(
  {
    seq: Type.Integer({ minimum: 1, description: "Drawn from the events' sequence." }),
    position: positionSchema('Where the erasure sits in the feed, among the events.'),
    user_id_sha256: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: 'Hex SHA-256 of the UTF-8 user_id whose events were all deleted: consumers delete what they derived from them.',
    }),
    events_deleted: Type.Integer({ minimum: 1 }),
    erased_at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

export const erasureResultSchema = Type.Object(
  {
    user_id: Type.String(),
    events_deleted: Type.Integer({ minimum: 0, description: '0 when the student had no events (e.g. a repeated call).' }),
  },
  { additionalProperties: false },
);

export const feedPageSchema = Type.Object(
  {
    events: Type.Array(storedEventSchema, { description: 'At most `limit` events.' }),
    erasures: Type.Array(erasureMarkerSchema, {
      description: 'Erasure markers in the same range of positions as the events (at most `limit`); merge by position to see feed order.',
    }),
    next_cursor: positionSchema("The last position on this page (the request's own when the page is empty): pass as `cursor` to continue."),
    head_seq: Type.Integer({ description: 'The highest committed seq when this page was read.' }),
  },
  { additionalProperties: false },
);
