// Which database failures say "the database cannot serve right now" rather than "this statement
// is wrong": a request that met one can succeed later, unchanged.

/**
 * PostgreSQL's SQLSTATE codes of that kind: a lock or statement timeout, too many connections, a
 * server shutting down or restarting, a lost connection, a serialization failure or deadlock.
 */
const POSTGRES_TRANSIENT = /^(55P03|57014|53300|57P0[1-3]|08...|40001|40P01)$/;
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** The error's `code`, when it has a string one (SQLite's SQLITE_*, PostgreSQL's SQLSTATE, Node's E*). */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Busy or out of reach: SQLite's write lock held beyond busy_timeout, or the transient PostgreSQL failures above. */
export function isTransientDatabaseError(err: unknown): boolean {
  const code = errorCode(err);
  if ((err as { name?: unknown } | null)?.name === 'KnexTimeoutError') return true; // no free connection in time
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || POSTGRES_TRANSIENT.test(code) || CONNECTION_ERRORS.has(code));
}
