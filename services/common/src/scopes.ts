// The rights a credential can carry. `admin` grants every other scope too.
export const SCOPES = ['events:write', 'events:read', 'mastery:read', 'mastery:recompute', 'admin'] as const;

export type Scope = (typeof SCOPES)[number];

export function grants(scopes: ReadonlySet<Scope>, needed: Scope): boolean {
  return scopes.has(needed) || scopes.has('admin');
}
