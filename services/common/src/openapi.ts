// Builds a service's OpenAPI 3.1 document from the same JSON Schemas ajv validates with, adding
// what every service shares: the error body, and the health, readiness and metrics endpoints.
import { MAX_ERROR_DETAILS } from './errors.js';

export const errorBodySchema = {
  $id: 'ErrorBody',
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', description: 'Stable machine-readable error class, e.g. validation_failed.' },
        message: { type: 'string' },
        details: {
          type: 'array',
          maxItems: MAX_ERROR_DETAILS,
          description: `At most ${MAX_ERROR_DETAILS}; details_omitted counts the rest.`,
          items: {
            type: 'object',
            required: ['path', 'reason'],
            additionalProperties: false,
            properties: {
              path: { type: 'string', description: 'JSON Pointer to the offending value ("query:" or "path:" prefixed outside the body).' },
              reason: { type: 'string' },
            },
          },
        },
        details_omitted: {
          type: 'integer',
          minimum: 1,
          description: `Details left out beyond the first ${MAX_ERROR_DETAILS}; absent when none were.`,
        },
      },
    },
  },
} as const;

export function errorResponse(description: string) {
  return { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } } };
}

export function jsonResponse(description: string, schema: object, headers?: Record<string, object>) {
  return { description, ...(headers ? { headers } : {}), content: { 'application/json': { schema } } };
}

const securitySchemes = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description:
      'A JWT from the configured issuer (a Kubernetes ServiceAccount token or an OIDC provider), or an API key sent as `<id>.<secret>`.',
  },
  basicAuth: { type: 'http', scheme: 'basic', description: 'An API key: its id as the user name, its secret as the password.' },
};

/**
 * An operation that needs `scope` (when AUTH_MODE=required): its security requirement names the
 * scope, and its refusals are documented.
 */
export function withScope<T extends { summary: string; responses: object }>(scope: string, operation: T): T & { security: object[] } {
  return {
    ...operation,
    description: `Needs the scope \`${scope}\` (or \`admin\`).`,
    security: [{ bearerAuth: [scope] }, { basicAuth: [scope] }],
    responses: {
      ...operation.responses,
      '401': errorResponse('No credential, or an invalid one (the WWW-Authenticate header says so)'),
      '403': errorResponse('The credential lacks the scope'),
    },
  };
}

/** A required path parameter holding an identifier (what every service's ids look like). */
export function pathParameter(name: string, description: string) {
  return {
    name,
    in: 'path',
    required: true,
    description: `${description} URL-encoded; may hold any Unicode, "/" included as %2F.`,
    schema: { type: 'string', minLength: 1, maxLength: 128 },
  };
}

/** One optional query parameter per property of an object schema (the schema ajv checks the query with). */
export function queryParameters(schema: { properties: Record<string, { description?: string }> }, omit: string[] = []) {
  return Object.entries(schema.properties)
    .filter(([name]) => !omit.includes(name))
    .map(([name, property]) => ({ name, in: 'query', required: false, schema: property, description: property.description }));
}

/** A reference to a schema in the document's components. */
export function schemaRef(name: string) {
  return { $ref: `#/components/schemas/${name}` };
}

const statusSchema = { type: 'object', properties: { status: { type: 'string' } } };

const sharedPaths = {
  '/health': {
    get: {
      summary: 'Liveness: the process answers. Touches no dependency.',
      responses: { '200': jsonResponse('Alive', statusSchema) },
    },
  },
  '/ready': {
    get: {
      summary: 'Readiness: the database answers and migrations are current.',
      responses: {
        '200': jsonResponse('Ready', statusSchema),
        '503': errorResponse('Not ready, or shutting down'),
      },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus metrics in the text exposition format.',
      responses: { '200': { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  },
};

export function buildOpenApiDocument(spec: {
  title: string;
  version: string;
  description: string;
  paths: Record<string, object>;
  schemas: Record<string, object>;
}): object {
  return {
    openapi: '3.1.0',
    info: { title: spec.title, version: spec.version, description: spec.description },
    paths: { ...spec.paths, ...sharedPaths },
    components: { schemas: { ...stripIds(spec.schemas), ErrorBody: stripId(errorBodySchema) }, securitySchemes },
  };
}

function stripId(schema: object): object {
  const { $id: _ignored, ...rest } = schema as { $id?: string };
  return rest;
}

function stripIds(schemas: Record<string, object>): Record<string, object> {
  return Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, stripId(schema)]));
}
