// Audit log lines: one per action on personal data that must be traceable (an erasure), marked
// `audit: true` so a log pipeline can keep them apart and longer. The student is written as its
// log pseudonym, like every `user_id` (logger.ts).
import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { Principal } from './auth.js';

export function auditLog(logger: Logger, ctx: Context, action: string, fields: { user_id: string } & Record<string, unknown>): void {
  const principal = (ctx.state.principal as Principal | undefined)?.name;
  logger.info({ audit: true, action, principal, ...fields, at: new Date().toISOString() }, action.replaceAll('_', ' '));
}
