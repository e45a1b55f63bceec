// The BKT routes in the service's OpenAPI document.
import { errorResponse, jsonResponse, withScope } from '@learning-analytics/common';

const probability = { type: 'number', minimum: 0, maximum: 1 };
const metrics = {
  type: 'object',
  properties: { auc: { type: 'number' }, rmse: { type: 'number' }, log_loss: { type: 'number' } },
};

const conceptParams = {
  type: 'object',
  properties: {
    concept_id: { type: 'string' },
    p_init: probability,
    p_learn: probability,
    p_guess: probability,
    p_slip: probability,
    p_forget: probability,
    fitted: { type: 'boolean', description: 'false: fewer than BKT_MIN_STUDENTS students; the defaults apply.' },
    students: { type: 'integer' },
    observations: { type: 'integer', description: 'Graded answers.' },
    log_likelihood: { type: ['number', 'null'] },
    iterations: { type: 'integer' },
  },
};

export const bktSchemas = {
  BktConceptParams: conceptParams,
  BktParams: {
    type: 'object',
    properties: {
      version: { type: 'integer', description: '0 until a fit succeeded: every concept on the defaults.' },
      fitted_at: { type: ['string', 'null'], format: 'date-time' },
      concepts: { type: 'array', items: { $ref: '#/components/schemas/BktConceptParams' } },
    },
  },
  BktFit: {
    type: 'object',
    properties: {
      fit_id: { type: 'string', format: 'uuid' },
      status: { enum: ['running', 'succeeded', 'failed'] },
      started_at: { type: 'string', format: 'date-time' },
      finished_at: { type: 'string', format: 'date-time' },
      progress: {
        type: 'object',
        properties: {
          phase: { enum: ['reading', 'fitting', 'activating', 'done'] },
          events_read: { type: 'integer' },
          answers: { type: 'integer' },
          concepts_fitted: { type: 'integer' },
          concepts_total: { type: 'integer' },
        },
      },
      version: { type: 'integer', description: 'The parameters version the fit put in force.' },
      concepts: { type: 'array', items: { $ref: '#/components/schemas/BktConceptParams' } },
      evaluation: {
        type: 'array',
        description: '5-fold cross-validation by student, per fitted concept: predicting each answer before it is seen.',
        items: {
          type: 'object',
          properties: {
            concept_id: { type: 'string' },
            students: { type: 'integer' },
            observations: { type: 'integer' },
            bkt: metrics,
            pass_ratio: metrics,
          },
        },
      },
      error: { type: 'string' },
    },
  },
};

export const bktPaths = {
  '/models/bkt/fit': {
    post: withScope('admin', {
      summary: 'Start a fit of the BKT parameters over every stored event. One at a time.',
      responses: {
        '202': jsonResponse('Started', { type: 'object', properties: { fit_id: { type: 'string' }, status: { const: 'running' } } }),
        '409': errorResponse('A fit is running'),
      },
    }),
  },
  '/models/bkt/fits/{fit_id}': {
    get: withScope('mastery:read', {
      summary: "A fit's status and progress; when done, its parameters and evaluation.",
      parameters: [{ name: 'fit_id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      responses: {
        '200': jsonResponse('The fit', { $ref: '#/components/schemas/BktFit' }),
        '400': errorResponse('Not a fit id'),
        '404': errorResponse('No such fit'),
      },
    }),
  },
  '/models/bkt': {
    get: withScope('mastery:read', {
      summary: 'The BKT parameters in force, per concept.',
      responses: { '200': jsonResponse('The parameters', { $ref: '#/components/schemas/BktParams' }) },
    }),
  },
};
