// One ajv instance per schema set; every request body, query and path is checked here, at the
// edge, against the same JSON Schemas that the OpenAPI document publishes.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Type } from '@sinclair/typebox';
import { type ErrorDetail, MAX_ERROR_DETAILS, ValidationError, BadRequestError } from './errors.js';

// ajv-formats is CommonJS with a default export; under NodeNext its callable sits on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** Custom keyword: the value, serialized as JSON, is at most this many UTF-8 bytes. */
export const MAX_JSON_BYTES = 'x-max-json-bytes';
/**
 * Keyword: every number inside is stored exactly as sent. JSON.parse turns 1e400 into Infinity
 * (stored as null) and rounds integers past 2^53 (another number): both are refused instead.
 */
export const EXACT_NUMBERS = 'x-exact-numbers';

/**
 * The JSON Pointer of the first number in `value` that may not be what was sent: not finite, or
 * integer-valued beyond 2^53 - 1 (from the parsed value alone, 1e20 and a rounded 20-digit literal
 * look the same). A loop, not recursion: nesting too deep for the stack is another keyword's error.
 */
function firstInexactNumber(value: unknown): string | undefined {
  const pending: Array<[unknown, string]> = [[value, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, path] = next;
    if (typeof item === 'number') {
      if (!Number.isFinite(item) || (Number.isInteger(item) && !Number.isSafeInteger(item))) return path;
    } else if (typeof item === 'object' && item !== null) {
      const entries: Array<[string, unknown]> = Object.entries(item);
      for (let i = entries.length - 1; i >= 0; i -= 1) {
        const [key, child] = entries[i]!;
        pending.push([child, `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`]);
      }
    }
  }
  return undefined;
}

export function createAjv(options: { coerceTypes?: boolean } = {}): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    strictRequired: false, // "required" inside anyOf branches names properties declared by the parent
    coerceTypes: options.coerceTypes ?? false,
    useDefaults: true,
    removeAdditional: false,
    verbose: true, // keeps each error's schema, so an anyOf failure can name its alternatives
  });
  addFormats(ajv);
  // One spelling of a UUID: 32 hex digits in 8-4-4-4-12 groups, any case (stored lower-case).
  // ajv-formats also takes `urn:uuid:<uuid>`, which would make one id two different keys.
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  // RFC 3339 as its grammar says: ajv-formats also takes offsets without a colon or minutes
  // (+0530, +05) and a space for the T.
  ajv.addFormat('date-time', { type: 'string', validate: isRfc3339DateTime });
  ajv.addKeyword({
    keyword: MAX_JSON_BYTES,
    type: 'object',
    schemaType: 'number',
    errors: true,
    validate: function maxJsonBytes(limit: number, data: unknown) {
      let message: string | undefined;
      try {
        if (Buffer.byteLength(JSON.stringify(data), 'utf8') > limit) message = `must be at most ${limit} bytes as JSON`;
      } catch {
        message = 'is nested too deeply'; // JSON.stringify ran out of stack: a value no one can store or read back
      }
      if (message)
        (maxJsonBytes as unknown as { errors: Partial<ErrorObject>[] }).errors = [{ keyword: MAX_JSON_BYTES, message, params: { limit } }];
      return message === undefined;
    },
  });
  ajv.addKeyword({
    keyword: EXACT_NUMBERS,
    schemaType: 'boolean',
    errors: true,
    validate: function exactNumbers(wanted: boolean, data: unknown) {
      const at = wanted ? firstInexactNumber(data) : undefined;
      if (at === undefined) return true;
      const message = `holds a number that cannot be stored as sent${at ? ` (at ${at})` : ''}: numbers must be finite, and integer values at most ${Number.MAX_SAFE_INTEGER} in size (send larger ones as strings)`;
      (exactNumbers as unknown as { errors: Partial<ErrorObject>[] }).errors = [{ keyword: EXACT_NUMBERS, message, params: {} }];
      return false;
    },
  });
  return ajv;
}

/**
 * The ids of students and concepts, in bodies and paths alike: 1-128 characters, no control
 * characters or unpaired surrogates, and not `.` or `..`, which URLs treat as path steps (a
 * client's URL library would turn /events/.. into /), so such an id could be stored but never read.
 */
const IDENTIFIER_PATTERN = '^(?!\\.{1,2}$)[^\\p{Cc}\\p{Cs}]+$';

export const identifierSchema = (description: string) =>
  Type.String({ minLength: 1, maxLength: 128, pattern: IDENTIFIER_PATTERN, description });

const RFC3339_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** A date-time of RFC 3339 section 5.6: the fields in range, a leap second's 60 included. */
export function isRfc3339DateTime(text: string): boolean {
  const match = RFC3339_DATE_TIME.exec(text);
  if (!match) return false;
  // An offset of Z has no hour and minute groups: those count as 0.
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = match.slice(1).map((group) => Number(group ?? 0));
  const daysInMonth = new Date(Date.UTC(year!, month, 0)).getUTCDate();
  return (
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysInMonth &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 60 &&
    offsetHour! <= 23 &&
    offsetMinute! <= 59
  );
}

export function toErrorDetails(errors: ErrorObject[] | null | undefined, prefix = ''): ErrorDetail[] {
  const all = errors ?? [];
  // An `anyOf` failure already says what was wanted; its branches' own errors only add noise.
  const anyOfPaths = all.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  return all
    .filter((e) => e.keyword !== 'if' && !anyOfPaths.some((p) => e.schemaPath.startsWith(p)))
    .map((e) => ({ path: `${prefix}${e.instancePath}${offendingProperty(e)}`, reason: describe(e) }));
}

function offendingProperty(e: ErrorObject): string {
  if (e.keyword === 'required') return `/${(e.params as { missingProperty: string }).missingProperty}`;
  if (e.keyword === 'additionalProperties') return `/${(e.params as { additionalProperty: string }).additionalProperty}`;
  return '';
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not an allowed field';
    case 'format':
      return (e.params as { format: string }).format === 'date-time'
        ? 'must be an RFC 3339 time with an offset: YYYY-MM-DDThh:mm:ss[.fraction] then Z or +hh:mm / -hh:mm'
        : (e.message ?? 'is invalid');
    case 'pattern':
      return e.schema === IDENTIFIER_PATTERN
        ? 'must hold no control characters or unpaired surrogates, and must not be "." or ".."'
        : (e.message ?? 'is invalid');
    case 'enum':
      return `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    case 'anyOf': {
      const branches = (e.schema as Array<{ required?: string[] }>).map((b) => b.required?.join(' and '));
      return branches.every(Boolean) ? `must have ${branches.join(' or ')}` : 'must match one of the allowed shapes';
    }
    default:
      return e.message ?? 'is invalid';
  }
}

export type Validator<T> = (value: unknown) => T;

/** How an integer is written in a query or path: decimal digits, an optional minus, no leading zeros. */
const plainDecimalInteger = /^-?(0|[1-9][0-9]*)$/;

/**
 * The integer parameters of a query or path schema. Type coercion turns any spelling Number()
 * accepts into a number (`Infinity`, `1e400`, `0x10`, `+5`, ` 5`), so these are checked as text
 * first: plain decimal, and exact as a double (at most 2^53 - 1 in size).
 */
function integerParameters(schema: object): string[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  return Object.entries(properties)
    .filter(([, property]) => property.type === 'integer')
    .map(([name]) => name);
}

function looseIntegerDetails(value: unknown, names: string[], prefix: string): ErrorDetail[] {
  if (typeof value !== 'object' || value === null) return [];
  const details: ErrorDetail[] = [];
  for (const name of names) {
    const text = (value as Record<string, unknown>)[name];
    if (typeof text !== 'string') continue;
    if (!plainDecimalInteger.test(text) || !Number.isSafeInteger(Number(text))) {
      details.push({ path: `${prefix}/${name}`, reason: `must be a decimal integer (digits only, at most ${Number.MAX_SAFE_INTEGER})` });
    }
  }
  return details;
}

/**
 * The details of an array whose items fail: item by item, keeping the first MAX_ERROR_DETAILS and
 * counting the rest, so a large bad batch costs about what a good one of its size does instead of
 * one error object per violation of every item at once.
 */
function itemDetails(validateItem: ValidateFunction, items: unknown[]): { details: ErrorDetail[]; omitted: number } {
  const details: ErrorDetail[] = [];
  let omitted = 0;
  items.forEach((item, i) => {
    if (validateItem(item)) return;
    const found = toErrorDetails(validateItem.errors, `/${i}`);
    const room = Math.max(0, MAX_ERROR_DETAILS - details.length);
    details.push(...found.slice(0, room));
    omitted += Math.max(0, found.length - room);
  });
  return { details, omitted };
}

/** A function that returns the value typed as T, or throws ValidationError (body) / BadRequestError (query, path). */
export function compileValidator<T>(ajv: Ajv, schema: object, where: 'body' | 'query' | 'path'): Validator<T> {
  // An array is checked as a whole (type, length) and then item by item (see itemDetails).
  const { items, ...arrayShape } = schema as { items?: object };
  const validate: ValidateFunction = ajv.compile(items === undefined ? schema : arrayShape);
  const validateItem = items === undefined ? undefined : ajv.compile(items);
  const integers = where === 'body' ? [] : integerParameters(schema);
  return (value: unknown): T => {
    const loose = looseIntegerDetails(value, integers, `${where}:`);
    if (loose.length > 0) throw new BadRequestError(`Invalid ${where} parameters.`, loose);
    let details: ErrorDetail[] = [];
    let omitted = 0;
    if (!validate(value)) details = toErrorDetails(validate.errors, where === 'body' ? '' : `${where}:`);
    else if (validateItem) ({ details, omitted } = itemDetails(validateItem, value as unknown[]));
    if (details.length === 0) return value as T;
    if (where === 'body') throw new ValidationError('The request body does not match the schema.', details, omitted);
    throw new BadRequestError(`Invalid ${where} parameters.`, details, omitted);
  };
}
