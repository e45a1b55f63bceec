// Shared by the Brain's tests: both services as real processes over fresh temp databases, a fake
// upstream for the faults the real Logger cannot produce on demand, and an independent reference
// computation of what the records must be.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { FEED_START, feedPosition } from '@learning-analytics/common';
import { makeTempDir, startService, type ServiceProcess } from '../../../test-support/service-process.js';
import { request } from '../../../test-support/http.js';
import { testDatabaseUrl } from '../../../test-support/database.js';
import { eventually, metric, metricReaches } from '../../../test-support/polling.js';

export { eventually, metric, metricReaches };

export interface Stack {
  logger: ServiceProcess;
  brain: ServiceProcess;
  brainEnv: Record<string, string>;
  /** The Logger's database, for starting it again on the same data. */
  loggerDatabaseUrl: string;
  /** Kills the Brain (SIGKILL by default) and starts it again on the same database. */
  restartBrain(signal?: NodeJS.Signals, env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** The Brain's settings for tests: quick retries, short timeouts. */
export const FAST_CLIENT = {
  LEARNING_EVENTS_TIMEOUT_MS: '2000',
  LEARNING_EVENTS_DEADLINE_MS: '8000',
  LEARNING_EVENTS_RETRIES: '2',
  LEARNING_EVENTS_RETRY_BASE_MS: '20',
  LEARNING_EVENTS_RETRY_MAX_MS: '200',
  FEED_WAIT_MS: '1000',
  FEED_BACKOFF_MAX_MS: '200',
};

/**
 * Starts the Logger and the Brain. `upstreamUrl` (e.g. a fake proxy) replaces the Logger's URL in
 * the Brain's configuration when given.
 */
export async function startStack(
  options: {
    brainEnv?: Record<string, string>;
    loggerEnv?: Record<string, string>;
    upstreamUrl?: (loggerUrl: string) => Promise<string>;
  } = {},
): Promise<Stack> {
  const dir = makeTempDir('concept-mastery-');
  const loggerDatabaseUrl = await testDatabaseUrl(dir.path, 'events');
  const logger = await startService('learning-events', { DATABASE_URL: loggerDatabaseUrl, ...options.loggerEnv });
  const upstream = options.upstreamUrl ? await options.upstreamUrl(logger.url) : logger.url;
  const brainEnv = {
    DATABASE_URL: await testDatabaseUrl(dir.path, 'mastery'),
    LEARNING_EVENTS_URL: upstream,
    ...FAST_CLIENT,
    ...options.brainEnv,
  };
  const stack: Stack = {
    logger,
    brain: await startService('concept-mastery', brainEnv),
    brainEnv,
    loggerDatabaseUrl,
    async restartBrain(signal = 'SIGKILL', env = {}) {
      await this.brain.kill(signal);
      this.brain = await startService('concept-mastery', { ...brainEnv, ...env });
    },
    async stop() {
      await Promise.all([this.brain.kill('SIGTERM'), this.logger.kill('SIGTERM')]);
      dir.remove();
    },
  };
  return stack;
}

export function quiz(user_id: string, concept_id: string, details: object, extra: object = {}) {
  return { user_id, event_type: 'quiz_attempt', concept_id, event_details: details, ...extra };
}

export function video(user_id: string, concept_id: string, extra: object = {}) {
  return { user_id, event_type: 'video_watched', concept_id, ...extra };
}

/** Logs events through the batch endpoint (1,000 per request); returns the stored events. */
export async function logEvents(loggerUrl: string, events: object[]): Promise<StoredEvent[]> {
  const stored: StoredEvent[] = [];
  for (let i = 0; i < events.length; i += 1000) {
    const chunk = events.slice(i, i + 1000).map((e) => ({ event_id: randomUUID(), ...e }));
    const res = await request(`${loggerUrl}/events/batch`, { json: chunk });
    expect(res.status).toBe(201);
    res.body.items.forEach((item: { seq: number }, j: number) => {
      const input = chunk[j] as unknown as StoredEvent;
      stored.push({ ...input, event_details: input.event_details ?? {}, seq: item.seq });
    });
  }
  return stored;
}

export interface StoredEvent {
  user_id: string;
  concept_id: string;
  event_type: string;
  event_details: Record<string, any>;
  timestamp?: string;
  seq: number;
}

/** A deterministic mix of graded, ungraded and non-quiz events over a few concepts. */
export function mixedEvents(userId: string, count: number, concepts = 5, start = 0): object[] {
  return Array.from({ length: count }, (_, k) => {
    const i = start + k;
    const concept = `concept-${i % concepts}`;
    const timestamp = new Date(Date.UTC(2024, 0, 1) + ((i * 7919) % 100_000) * 60_000).toISOString();
    switch (i % 6) {
      case 0:
        return quiz(userId, concept, { score: (i * 37) % 101 }, { timestamp });
      case 1:
        return quiz(userId, concept, { correct: i % 4 === 1 }, { timestamp });
      case 2:
        return quiz(userId, concept, { score: i % 3 === 0 ? 60 : 59.9 }, { timestamp });
      case 3:
        return video(userId, concept, { timestamp });
      case 4:
        return quiz(userId, concept, { score: 100, correct: false }, { timestamp });
      default:
        return { user_id: userId, event_type: 'assignment_submitted', concept_id: concept, timestamp };
    }
  });
}

/** What the records must say, computed from the events independently of the service's code. */
export function expectedRecords(events: StoredEvent[], userId: string, passScore = 60) {
  const byConcept = new Map<string, { total: number; successful: number; last: number }>();
  for (const e of events) {
    if (e.user_id !== userId) continue;
    const entry = byConcept.get(e.concept_id) ?? { total: 0, successful: 0, last: -Infinity };
    const at = e.timestamp === undefined ? NaN : Date.parse(e.timestamp);
    entry.last = Math.max(entry.last, at);
    const d = e.event_details ?? {};
    if (e.event_type === 'quiz_attempt' && (typeof d.score === 'number' || typeof d.correct === 'boolean')) {
      entry.total += 1;
      if ((typeof d.score === 'number' && d.score >= passScore) || d.correct === true) entry.successful += 1;
    }
    byConcept.set(e.concept_id, entry);
  }
  return [...byConcept]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([concept_id, { total, successful, last }]) => ({
      user_id: userId,
      concept_id,
      model: 'pass_ratio',
      mastery_score: total === 0 ? 0 : (successful / total) * 100,
      total_attempts: total,
      successful_attempts: successful,
      ...(Number.isNaN(last) ? {} : { last_event_at: new Date(last).toISOString() }),
    }));
}

/** A student's records without updated_at (and last_event_at unless asked), for comparisons. */
export async function readMastery(brainUrl: string, userId: string, keep: { lastEventAt?: boolean } = { lastEventAt: true }) {
  const res = await request<any[]>(`${brainUrl}/mastery/${encodeURIComponent(userId)}`);
  expect(res.status).toBe(200);
  return res.body.map(({ updated_at: _u, last_event_at, ...rest }) => (keep.lastEventAt ? { ...rest, last_event_at } : rest));
}

/** A student's records of one model without updated_at, for comparisons across Brains. */
export async function modelRecords(brainUrl: string, userId: string, model: string) {
  const res = await request<any[]>(`${brainUrl}/mastery/${encodeURIComponent(userId)}?model=${model}`);
  expect(res.status).toBe(200);
  return res.body.map(({ updated_at: _u, ...rest }) => rest);
}

type RecordsByStudent = Record<string, Record<string, unknown[]>>;

/** The students' records of every model as a running Brain answers them. */
export async function recordsOf(brainUrl: string, users: string[], models = ['pass_ratio', 'bkt']): Promise<RecordsByStudent> {
  const records: RecordsByStudent = {};
  for (const user of users) {
    records[user] = {};
    for (const model of models) records[user][model] = await modelRecords(brainUrl, user, model);
  }
  return records;
}

/** The same as one clean run builds them: a fresh Brain (no consumer) recomputing each student over the same Logger. */
export async function cleanRun(loggerUrl: string, users: string[], models = ['pass_ratio', 'bkt']): Promise<RecordsByStudent> {
  const dir = makeTempDir('clean-run-');
  const brain = await startService('concept-mastery', {
    DATABASE_URL: await testDatabaseUrl(dir.path, 'clean'),
    LEARNING_EVENTS_URL: loggerUrl,
    FEED_CONSUMER_ENABLED: 'false',
  });
  try {
    for (const user of users) {
      const res = await request(`${brain.url}/mastery/recompute/${encodeURIComponent(user)}`, { method: 'POST' });
      expect(res.status).toBe(200);
    }
    return await recordsOf(brain.url, users, models);
  } finally {
    await brain.kill('SIGTERM');
    dir.remove();
  }
}

/**
 * Waits until the Brain's consumer has applied the feed up to `seq` (30 s: large feeds take a while).
 * The cursor gauge is the seq of the cursor's position: with one Logger, whose one writer commits in
 * seq order, every event up to that seq is applied then.
 */
export function caughtUp(brainUrl: string, seq: number): Promise<void> {
  return metricReaches(brainUrl, 'mastery_feed_cursor_seq', '>=', seq, { timeoutMs: 30_000 });
}

/** Where the Logger's feed ends now: the next_cursor of its last page. */
export async function feedEnd(loggerUrl: string): Promise<string> {
  let cursor = FEED_START;
  for (;;) {
    const page = await request<{ events: unknown[]; erasures: unknown[]; next_cursor: string }>(
      `${loggerUrl}/feed?cursor=${cursor}&limit=10000`,
    );
    expect(page.status).toBe(200);
    if (page.body.events.length + page.body.erasures.length === 0) return cursor;
    cursor = page.body.next_cursor;
  }
}

/** What a timeline answer of a fake upstream must carry besides its body to be folded at all: a Feed-Settled-Through. */
export const SETTLED_TIMELINE = { 'feed-settled-through': feedPosition(0, Number.MAX_SAFE_INTEGER) };

export type FakeBehaviour = 'forward' | 'stall' | { status: number; body?: string; headers?: Record<string, string> };

/**
 * A fake upstream in front of the real Logger, for faults the Logger cannot produce on demand. Each
 * request takes the next scripted behaviour, then `forward` once the script is used up.
 */
export async function startFakeUpstream(targetUrl: string) {
  const script: FakeBehaviour[] = [];
  const seen: Array<{ url: string; at: number; headers: IncomingMessage['headers'] }> = [];
  const stalled: ServerResponse[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', at: Date.now(), headers: req.headers });
    const behaviour = script.shift() ?? 'forward';
    if (behaviour === 'stall') {
      stalled.push(res);
      return;
    }
    if (behaviour !== 'forward') {
      res.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
      res.end(behaviour.body ?? '{}');
      return;
    }
    const target = new URL(req.url ?? '/', targetUrl);
    const upstream = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    script,
    seen,
    /** The answers held by `stall`, oldest first. */
    stalled,
    async close() {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
