// Shared by the Logger's tests: a running Logger over a fresh temp database, and ways to read
// back what it stored.
import { makeTempDir, startService, type ServiceProcess } from '../../../test-support/service-process.js';
import { request } from '../../../test-support/http.js';
import Database from 'better-sqlite3';
import { openDatabase } from '@learning-analytics/common';
import { testDatabaseUrl, testEngine } from '../../../test-support/database.js';

export interface LoggerUnderTest {
  service: ServiceProcess;
  url: string;
  databaseUrl: string;
  restart(env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

export async function startLogger(env: Record<string, string> = {}): Promise<LoggerUnderTest> {
  const dir = makeTempDir('learning-events-');
  const databaseUrl = await testDatabaseUrl(dir.path, 'events');
  const under: LoggerUnderTest = {
    service: await startService('learning-events', { DATABASE_URL: databaseUrl, ...env }),
    get url() {
      return this.service.url;
    },
    databaseUrl,
    async restart(extra = {}) {
      await this.service.kill('SIGTERM');
      this.service = await startService('learning-events', { DATABASE_URL: databaseUrl, ...env, ...extra });
    },
    async stop() {
      await this.service.kill('SIGTERM');
      dir.remove();
    },
  };
  return under;
}

export function quiz<Extra extends object = Record<never, never>>(
  user_id: string,
  concept_id: string,
  details: object = { score: 75 },
  extra: Extra = {} as Extra,
) {
  return { user_id, event_type: 'quiz_attempt', concept_id, event_details: details, ...extra };
}

/** Every stored event, in feed order, read through the feed. */
export async function allStoredEvents(url: string): Promise<any[]> {
  const events: any[] = [];
  for await (const page of feedPages(url)) events.push(...page.events);
  return events;
}

/** The feed's pages from its start (or `cursor`), each one non-empty, until one comes back empty. */
export async function* feedPages(
  url: string,
  { cursor = '', limit = 10_000 } = {},
): AsyncGenerator<{ events: any[]; erasures: any[]; next_cursor: string }> {
  for (;;) {
    const page = await request<{ events: any[]; erasures: any[]; next_cursor: string }>(
      `${url}/feed?limit=${limit}${cursor === '' ? '' : `&cursor=${cursor}`}`,
    );
    expect(page.status).toBe(200);
    if (page.body.events.length + page.body.erasures.length === 0) return;
    // A feed whose next_cursor does not move on would have this loop read the same page forever.
    if (!(page.body.next_cursor > cursor))
      throw new Error(`the feed after ${cursor} served a page but next_cursor ${page.body.next_cursor}`);
    yield page.body;
    cursor = page.body.next_cursor;
  }
}

export async function storedCount(url: string): Promise<number> {
  return (await allStoredEvents(url)).length;
}

/** Another connection takes the write lock of the Logger's tables; the returned function releases it. */
export async function holdWriteLock(logger: LoggerUnderTest): Promise<() => Promise<void>> {
  if (testEngine() === 'sqlite') {
    const operator = new Database(logger.databaseUrl.replace(/^sqlite:/, ''));
    operator.exec('begin immediate');
    return () => {
      operator.exec('rollback');
      operator.close();
      return Promise.resolve();
    };
  }
  const operator = openDatabase({ url: logger.databaseUrl, poolSize: 1 });
  const transaction = await operator.transaction();
  // EXCLUSIVE mode blocks every write to these tables and lets reads go on, as SQLite's lock does.
  await transaction.raw('lock table events, erasures, write_probe in exclusive mode');
  return async () => {
    await transaction.rollback();
    await operator.destroy();
  };
}
