// The Concept Mastery Service's OpenAPI 3.1 document, built from the schemas ajv validates with.
import {
  buildOpenApiDocument,
  errorResponse,
  jsonResponse,
  pathParameter,
  queryParameters,
  schemaRef,
  withScope,
} from '@learning-analytics/common';
import type { AnyMasteryModel } from '../domain/mastery-model.js';
import { masteryErasureSchema, masteryQuerySchema, masteryRecordSchema, recomputeSummarySchema } from '../schemas.js';

const upstreamFailures = {
  '502': errorResponse(
    "The Learning Events Service answered garbage (upstream_bad_response) or refused this service's credential (upstream_refused); stored mastery untouched",
  ),
  '503': errorResponse('The Learning Events Service is unreachable; stored mastery untouched'),
  '504': errorResponse('The Learning Events Service timed out; stored mastery untouched'),
};

export function conceptMasteryOpenApi(
  version: string,
  passScore: number,
  models: readonly AnyMasteryModel[],
  modelApis: Array<{ paths: Record<string, object>; schemas: Record<string, object> }>,
): object {
  const recordSchemas = Object.fromEntries(
    models.map((model) => [`MasteryRecord_${model.name}`, masteryRecordSchema(model.name, model.fieldsSchema)]),
  );
  const masteryRecord = { oneOf: models.map((model) => schemaRef(`MasteryRecord_${model.name}`)) };
  const modelQuery = queryParameters(
    masteryQuerySchema(
      models.map((model) => model.name),
      models[0]!.name,
    ),
  );
  return buildOpenApiDocument({
    title: 'Concept Mastery Service',
    version,
    description:
      "Turns each student's learning events into a mastery score per concept (0-100), kept current in real time " +
      `from the Learning Events Service's feed. Baseline model pass_ratio: passed / graded quiz attempts x 100, ` +
      `a quiz_attempt passing when event_details.score >= ${passScore} or event_details.correct is true.`,
    schemas: {
      ...recordSchemas,
      MasteryRecord: masteryRecord,
      RecomputeSummary: recomputeSummarySchema,
      MasteryErasure: masteryErasureSchema,
    },
    paths: {
      '/mastery/{user_id}': {
        get: withScope('mastery:read', {
          summary: 'Every concept record of a student for one model, sorted by concept_id; an unknown student gets [].',
          parameters: [pathParameter('user_id', 'The student.'), ...modelQuery],
          responses: {
            '200': jsonResponse('The records', { type: 'array', items: schemaRef('MasteryRecord') }),
            '400': errorResponse('Invalid path parameter'),
          },
        }),
        delete: withScope('admin', {
          summary:
            'Delete every record of a student on this service alone (the events stay; a recompute rebuilds them). To erase a student everywhere, DELETE /events/{user_id} on the Learning Events Service.',
          parameters: [pathParameter('user_id', 'The student.')],
          responses: {
            '200': jsonResponse('Deleted', schemaRef('MasteryErasure')),
            '400': errorResponse('Invalid path parameter'),
          },
        }),
      },
      '/mastery/{user_id}/{concept_id}': {
        get: withScope('mastery:read', {
          summary: 'One concept record of a student for one model.',
          parameters: [pathParameter('user_id', 'The student.'), pathParameter('concept_id', 'The concept.'), ...modelQuery],
          responses: {
            '200': jsonResponse('The record', schemaRef('MasteryRecord')),
            '400': errorResponse('Invalid path or query parameter'),
            '404': errorResponse('No record for this student and concept'),
          },
        }),
      },
      '/mastery/recompute/{user_id}': {
        post: withScope('mastery:recompute', {
          summary:
            "Rebuild a student's records from their full history in the Learning Events Service, in one transaction. " +
            'Idempotent; safe to run concurrently with itself and with real-time updates.',
          parameters: [pathParameter('user_id', 'The student.')],
          responses: {
            '200': jsonResponse('What the recompute did', schemaRef('RecomputeSummary')),
            '400': errorResponse('Invalid path parameter'),
            ...upstreamFailures,
          },
        }),
      },
      ...(Object.assign({}, ...modelApis.map((api) => api.paths)) as Record<string, object>),
    },
  });
}
