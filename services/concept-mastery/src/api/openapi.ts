// The Concept Mastery Service's OpenAPI 3.1 document, built from the schemas ajv validates with.
import { buildOpenApiDocument, errorResponse, jsonResponse, pathParameter, schemaRef, withScope } from '@learning-analytics/common';
import { masteryErasureSchema, masteryRecordSchema, recomputeSummarySchema } from '../schemas.js';

const upstreamFailures = {
  '502': errorResponse(
    "The Learning Events Service answered garbage (upstream_bad_response) or refused this service's credential (upstream_refused); stored mastery untouched",
  ),
  '503': errorResponse('The Learning Events Service is unreachable; stored mastery untouched'),
  '504': errorResponse('The Learning Events Service timed out; stored mastery untouched'),
};

export function conceptMasteryOpenApi(version: string, passScore: number): object {
  return buildOpenApiDocument({
    title: 'Concept Mastery Service',
    version,
    description:
      "Turns each student's learning events into a mastery score per concept (0-100), kept current in real time " +
      `from the Learning Events Service's feed. Baseline model pass_ratio: passed / graded quiz attempts x 100, ` +
      `a quiz_attempt passing when event_details.score >= ${passScore} or event_details.correct is true.`,
    schemas: { MasteryRecord: masteryRecordSchema, RecomputeSummary: recomputeSummarySchema, MasteryErasure: masteryErasureSchema },
    paths: {
      '/mastery/{user_id}': {
        get: withScope('mastery:read', {
          summary: 'Every concept record of a student, sorted by concept_id; an unknown student gets [].',
          parameters: [pathParameter('user_id', 'The student.')],
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
          summary: 'One concept record of a student.',
          parameters: [pathParameter('user_id', 'The student.'), pathParameter('concept_id', 'The concept.')],
          responses: {
            '200': jsonResponse('The record', schemaRef('MasteryRecord')),
            '400': errorResponse('Invalid path parameter'),
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
    },
  });
}
