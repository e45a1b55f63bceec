// The JSON Schemas of the Learning Events API. ajv validates requests with them and the OpenAPI
// document publishes them, so the two cannot drift.
import { Type, type Static } from '@sinclair/typebox';
import { EXACT_NUMBERS, MAX_JSON_BYTES, identifierSchema as identifier } from '@learning-analytics/common';

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

export const storedEventSchema = Type.Object(
  {
    event_id: Type.String({ format: 'uuid' }),
    user_id: Type.String(),
    event_type: Type.String(),
    concept_id: Type.String(),
    event_details: Type.Object({}, { additionalProperties: true }),
    timestamp: Type.String({ format: 'date-time', description: 'When it happened, UTC.' }),
    recorded_at: Type.String({ format: 'date-time', description: 'When the service received it, UTC.' }),
    seq: Type.Integer({ minimum: 1, description: 'Commit-order sequence number.' }),
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
    since: Type.Optional(rfc3339('Only events at or after this time.')),
    until: Type.Optional(rfc3339('Only events before this time.')),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, description: 'Page size; the next page is in the Link header.' }),
    ),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Opaque; taken from a Link header.' })),
  },
  { additionalProperties: false },
);

export type TimelineQuery = Static<typeof timelineQuerySchema>;

export const feedQuerySchema = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Return events with seq greater than this.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: 1000 })),
    wait_ms: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_FEED_WAIT_MS,
        default: 0,
        description: 'Long poll: when nothing is past `after`, wait up to this long for the next commit.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type FeedQuery = Required<Static<typeof feedQuerySchema>>;

export const erasureMarkerSchema = Type.Object(
  {
    seq: Type.Integer({ minimum: 1, description: 'Where the erasure sits in commit order, among the events.' }),
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
      description: 'Erasure markers in the same seq range as the events (at most `limit`); merge by seq to see commit order.',
    }),
    next_after: Type.Integer({ description: 'Pass as `after` to continue.' }),
    head_seq: Type.Integer({ description: 'The highest committed seq when this page was read.' }),
  },
  { additionalProperties: false },
);
