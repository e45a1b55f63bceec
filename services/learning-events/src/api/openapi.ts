// The Learning Events Service's OpenAPI 3.1 document, built from the schemas ajv validates with.
import {
  buildOpenApiDocument,
  errorResponse,
  jsonResponse,
  pathParameter,
  queryParameters,
  schemaRef,
  withScope,
} from '@learning-analytics/common';
import {
  batchResultSchema,
  erasureMarkerSchema,
  erasureResultSchema,
  eventBatchSchema,
  eventInputSchema,
  feedPageSchema,
  feedQuerySchema,
  storedEventSchema,
  timelineQuerySchema,
} from '../schemas.js';

const badInput = {
  '400': errorResponse('Malformed JSON or invalid query/path parameters'),
  '413': errorResponse('Body over the limit'),
  '415': errorResponse('Body is not JSON'),
  '422': errorResponse('The body violates the schema; one detail per violation'),
};

const readsBusy = errorResponse('MAX_CONCURRENT_READS timeline and feed reads are running; retry after Retry-After seconds');

const timelineResponses = {
  '200': jsonResponse(
    'Oldest first (timestamp, then seq). With limit, a Link rel="next" header leads to the next page.',
    {
      type: 'array',
      items: schemaRef('StoredEvent'),
    },
    {
      Link: { description: 'rel="next" URL of the next page (only with limit, when more remain)', schema: { type: 'string' } },
      'Feed-Settled-Through': {
        description:
          "A feed position: every event of the listing's snapshot at a position up to it is in the listing (when it matches " +
          'the filter), and no event at such a position can appear later. Events above it may still be joined by older ones.',
        schema: { type: 'string' },
      },
    },
  ),
  '400': errorResponse('Invalid path or query parameter'),
  '503': readsBusy,
};

export function learningEventsOpenApi(eventTypes: string[], version: string): object {
  return buildOpenApiDocument({
    title: 'Learning Events Service',
    version,
    description: "Records raw learning events permanently and serves each student's timeline and a commit-ordered feed.",
    schemas: {
      EventInput: eventInputSchema(eventTypes),
      EventBatch: { ...eventBatchSchema(eventTypes), items: schemaRef('EventInput') },
      StoredEvent: storedEventSchema,
      BatchResult: batchResultSchema,
      ErasureMarker: erasureMarkerSchema,
      ErasureResult: erasureResultSchema,
      FeedPage: {
        ...feedPageSchema,
        properties: {
          ...feedPageSchema.properties,
          events: { ...feedPageSchema.properties.events, items: schemaRef('StoredEvent') },
          erasures: { ...feedPageSchema.properties.erasures, items: schemaRef('ErasureMarker') },
        },
      },
    },
    paths: {
      '/events': {
        post: withScope('events:write', {
          summary: 'Log one event (also at /events/). Idempotent by event_id.',
          requestBody: { required: true, content: { 'application/json': { schema: schemaRef('EventInput') } } },
          responses: {
            '201': jsonResponse('Stored', schemaRef('StoredEvent'), { Location: { schema: { type: 'string' } } }),
            '200': jsonResponse('Already stored with the same content (a retry); nothing duplicated', schemaRef('StoredEvent')),
            ...badInput,
            '409': errorResponse('event_id already stored with different content'),
          },
        }),
      },
      '/events/batch': {
        post: withScope('events:write', {
          summary: 'Log up to 1,000 events in one transaction: all valid items are stored, or none.',
          requestBody: { required: true, content: { 'application/json': { schema: schemaRef('EventBatch') } } },
          responses: {
            '201': jsonResponse('Stored (items already stored with the same content are reported as duplicates)', schemaRef('BatchResult')),
            '200': jsonResponse('Every item was already stored (a retried batch)', schemaRef('BatchResult')),
            ...badInput,
            '409': errorResponse('Some event_ids are stored with different content; details name each index'),
          },
        }),
      },
      '/events/{user_id}': {
        get: withScope('events:read', {
          summary: "A student's full timeline; streamed without limit, paged with it.",
          parameters: [pathParameter('user_id', 'The student.'), ...queryParameters(timelineQuerySchema)],
          responses: timelineResponses,
        }),
        delete: withScope('admin', {
          summary:
            'Erase a student: every event of theirs is deleted in one transaction, and an erasure marker joins the feed ' +
            'so consumers delete what they derived. Idempotent: a repeated call deletes 0 and adds no marker.',
          parameters: [pathParameter('user_id', 'The student.')],
          responses: {
            '200': jsonResponse('Erased', schemaRef('ErasureResult')),
            '400': errorResponse('Invalid path parameter'),
          },
        }),
      },
      '/events/{user_id}/{concept_id}': {
        get: withScope('events:read', {
          summary: "A student's timeline for one concept.",
          parameters: [
            pathParameter('user_id', 'The student.'),
            pathParameter('concept_id', 'The concept.'),
            ...queryParameters(timelineQuerySchema, ['concept_id']),
          ],
          responses: timelineResponses,
        }),
      },
      '/feed': {
        get: withScope('events:read', {
          summary: 'Every event and erasure marker in feed order after a position; continue from next_cursor.',
          parameters: queryParameters(feedQuerySchema),
          responses: {
            '200': jsonResponse('A page of the feed', schemaRef('FeedPage')),
            '400': errorResponse('Invalid query'),
            '503': readsBusy,
          },
        }),
      },
    },
  });
}
