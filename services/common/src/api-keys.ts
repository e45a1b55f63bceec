// API keys for callers outside the cluster. A key is `<id>.<secret>`; the keys file (mounted from a
// Secret) holds only the SHA-256 of each secret, so reading the file does not reveal a key.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createAjv, toErrorDetails } from './validation.js';
import { SCOPES, type Scope } from './scopes.js';

export interface ApiKeyEntry {
  id: string;
  /** Hex SHA-256 of the secret. */
  sha256: string;
  scopes: Scope[];
  description?: string;
}

export const API_KEY_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

const apiKeysFileSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['id', 'sha256', 'scopes'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', pattern: API_KEY_ID_PATTERN },
      sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
      scopes: { type: 'array', uniqueItems: true, items: { enum: SCOPES } },
      description: { type: 'string' },
    },
  },
};

const validateApiKeysFile = createAjv().compile<ApiKeyEntry[]>(apiKeysFileSchema);

/** Parses the keys file's text; throws with every problem named. */
export function parseApiKeysFile(text: string): Map<string, ApiKeyEntry> {
  const entries: unknown = JSON.parse(text);
  if (!validateApiKeysFile(entries)) {
    const problems = toErrorDetails(validateApiKeysFile.errors).map((d) => `${d.path || '/'} ${d.reason}`);
    throw new Error(`not a valid API keys file: ${problems.join('; ')}`);
  }
  const keys = new Map<string, ApiKeyEntry>();
  for (const entry of entries) {
    if (keys.has(entry.id)) throw new Error(`not a valid API keys file: the id ${entry.id} appears twice`);
    keys.set(entry.id, entry);
  }
  return keys;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A stand-in digest compared against when the id is unknown, so both cases cost the same. */
const UNKNOWN_KEY_DIGEST = sha256Hex(randomBytes(32).toString('hex'));

export type ApiKeyCheck = { ok: true; entry: ApiKeyEntry } | { ok: false; reason: 'unknown_api_key' | 'wrong_secret' };

/** Checks a presented id and secret against the keys, comparing digests in constant time. */
export function checkApiKey(keys: Map<string, ApiKeyEntry>, id: string, secret: string): ApiKeyCheck {
  const entry = keys.get(id);
  const expected = Buffer.from((entry?.sha256 ?? UNKNOWN_KEY_DIGEST).toLowerCase(), 'hex');
  const matches = timingSafeEqual(expected, Buffer.from(sha256Hex(secret), 'hex'));
  if (!entry) return { ok: false, reason: 'unknown_api_key' };
  return matches ? { ok: true, entry } : { ok: false, reason: 'wrong_secret' };
}

/** A new key: the `<id>.<secret>` to hand to the caller once, and the entry for the keys file. */
export function createApiKey(spec: { id?: string; scopes: Scope[]; description?: string }): { key: string; entry: ApiKeyEntry } {
  const id = spec.id ?? `key-${randomBytes(6).toString('hex')}`;
  if (!new RegExp(API_KEY_ID_PATTERN).test(id)) throw new Error(`an id is 1 to 64 letters, digits, "_" or "-": ${id}`);
  const secret = randomBytes(32).toString('base64url');
  const entry: ApiKeyEntry = { id, sha256: sha256Hex(secret), scopes: spec.scopes };
  if (spec.description !== undefined) entry.description = spec.description;
  return { key: `${id}.${secret}`, entry };
}
