// The JSON Schemas of the Concept Mastery API, and of the Learning Events Service's answers that
// the client accepts. ajv validates with them; the OpenAPI document publishes the API ones.
import { Type, type Static } from '@sinclair/typebox';
import { identifierSchema as identifier } from '@learning-analytics/common';
import { SKIP_REASONS } from './domain/mastery-model.js';

export const userPathSchema = Type.Object({ user_id: identifier('The student.') });
export const userConceptPathSchema = Type.Object({
  user_id: identifier('The student.'),
  concept_id: identifier('The concept.'),
});

/** A record of `model`: the common fields around the model's own. */
export function masteryRecordSchema(model: string, fields: Record<string, object>) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['user_id', 'concept_id', 'model', 'mastery_score', ...Object.keys(fields), 'last_event_at', 'updated_at'],
    properties: {
      user_id: { type: 'string' },
      concept_id: { type: 'string' },
      model: { const: model, description: 'The mastery model that produced the record.' },
      mastery_score: { type: 'number', minimum: 0, maximum: 100, description: 'Mastery, 0-100 (not rounded).' },
      ...fields,
      last_event_at: { type: 'string', format: 'date-time', description: 'Latest event timestamp folded in (any event type), UTC.' },
      updated_at: { type: 'string', format: 'date-time', description: 'When the record last changed, UTC.' },
    },
  };
}

export const masteryQuerySchema = (models: string[], defaultModel: string) => ({
  type: 'object',
  additionalProperties: false,
  properties: { model: { type: 'string', enum: models, default: defaultModel, description: 'The model whose records to read.' } },
});

export const recomputeSummarySchema = Type.Object(
  {
    user_id: Type.String(),
    model: Type.String({ description: 'The default model (MASTERY_DEFAULT_MODEL): events_skipped and concepts_written are about it.' }),
    events_processed: Type.Integer({ minimum: 0, description: 'Events read from the history and folded.' }),
    events_skipped: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), {
      description: `Of those, events that did not change the ratio, by reason: ${SKIP_REASONS.join(', ')}.`,
    }),
    concepts_written: Type.Integer({
      minimum: 0,
      description:
        "The default model's records created or changed. An unchanged record is not rewritten; one the real-time consumer has already taken further is kept.",
    }),
    records_written: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'Records created or changed, by model.' }),
    duration_ms: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export type RecomputeSummary = Static<typeof recomputeSummarySchema>;

/**
 * The Logger's instants: always UTC with milliseconds (toISOString). One anchored pattern instead of
 * the full RFC 3339 format check, which cost the Brain more than the JSON parse of a page; the
 * client still rejects an instant that is no date (month 13) when it converts it.
 */
const upstreamInstant = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$' });

/** A feed position as the Logger writes it (see feedPosition in common): compared as a string. */
export const upstreamPositionSchema = Type.String({ pattern: '^[0-9]{20}\\.[0-9]{16}$' });

/** An event as the Learning Events Service serves it. */
export const upstreamEventSchema = Type.Object(
  {
    event_id: Type.String({ minLength: 1 }),
    user_id: Type.String({ minLength: 1 }),
    event_type: Type.String({ minLength: 1 }),
    concept_id: Type.String({ minLength: 1 }),
    event_details: Type.Object({}, { additionalProperties: true }),
    timestamp: upstreamInstant,
    recorded_at: upstreamInstant,
    seq: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: true },
);

export type UpstreamEvent = Static<typeof upstreamEventSchema>;

export const upstreamTimelinePageSchema = Type.Array(upstreamEventSchema);

export const upstreamFeedPageSchema = Type.Object(
  {
    // Each event is checked on its own (upstreamEventSchema): one the Brain cannot use is set aside
    // as a dead letter instead of stalling the feed; it only needs its place, the position (and
    // the seq, which names it to an operator).
    events: Type.Array(
      Type.Object({ seq: Type.Integer({ minimum: 1 }), position: upstreamPositionSchema }, { additionalProperties: true }),
    ),
    erasures: Type.Optional(
      Type.Array(
        Type.Object({
          seq: Type.Integer({ minimum: 1 }),
          position: upstreamPositionSchema,
          user_id_sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
        }),
      ),
    ),
    next_cursor: upstreamPositionSchema,
    head_seq: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: true },
);

export type UpstreamFeedPage = Static<typeof upstreamFeedPageSchema>;

export const masteryErasureSchema = Type.Object(
  {
    user_id: Type.String(),
    records_deleted: Type.Integer({ minimum: 0, description: '0 when none were stored (e.g. a repeated call).' }),
  },
  { additionalProperties: false },
);
