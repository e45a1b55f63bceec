// Two Brain replicas on one PostgreSQL database, both with the consumer enabled: exactly one
// consumes (it holds the advisory lock); SIGKILLed while events flow, or its database session
// ended under it, the other takes over within 15 s (or it takes the lock again); recomputes on
// both replicas racing the consumer end like one clean run; and reads from either replica agree
// (no replica serves records from a cache the other's writes left stale).
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from '../../../test-support/http.js';
import { withDatabase } from '../../../test-support/database.js';
import { startService, type ServiceProcess } from '../../../test-support/service-process.js';
import {
  caughtUp,
  cleanRun,
  eventually,
  expectedRecords,
  logEvents,
  metric,
  metricReaches,
  mixedEvents,
  readMastery,
  recordsOf,
  startStack,
  type Stack,
  type StoredEvent,
} from './support.js';

const ACTIVE = 'mastery_feed_consumer_active';

/** Two replicas of the Brain on the stack's database, the stack's own first. */
async function startReplicas(env: Record<string, string> = {}): Promise<{ stack: Stack; replicas: ServiceProcess[] }> {
  const stack = await startStack({ brainEnv: env });
  const second = await startService('concept-mastery', stack.brainEnv);
  return { stack, replicas: [stack.brain, second] };
}

async function stopReplicas({ stack, replicas }: { stack: Stack; replicas: ServiceProcess[] }): Promise<void> {
  await replicas[1]!.kill('SIGTERM');
  await stack.stop();
}

/** Waits until exactly one replica consumes, checks that it stays so past a lock retry, and returns it. */
async function theConsumer(replicas: ServiceProcess[]): Promise<ServiceProcess> {
  const active = () => Promise.all(replicas.map((replica) => metric(replica.url, ACTIVE)));
  let last: number[] = [];
  await eventually(
    () => `exactly one replica with ${ACTIVE} 1 (last read: ${last.join(', ')})`,
    async () => (last = await active()).reduce((sum, value) => sum + value, 0) === 1,
  );
  // Longer than a waiting replica's retry interval (2 s): the other never takes the lock meanwhile.
  for (let i = 0; i < 6; i += 1) {
    await sleep(500);
    expect(await active()).toEqual(last);
  }
  return replicas[last.indexOf(1)]!;
}

/**
 * Logs `rounds` batches for `users` in the background, or fewer once `stop` is set; `writing` is
 * false once the last is stored.
 */
function logInBackground(loggerUrl: string, users: string[], rounds: number, perUser: number) {
  const logged: StoredEvent[] = [];
  const state = { writing: true, stop: false, logged };
  const done = (async () => {
    for (let i = 0; i < rounds && !state.stop; i += 1) {
      logged.push(
        ...(await logEvents(
          loggerUrl,
          users.flatMap((user) => mixedEvents(user, perUser, 4, i * perUser)),
        )),
      );
    }
  })().finally(() => (state.writing = false));
  return { state, done };
}

test('exactly one replica consumes; SIGKILLed while events flow, the other takes over within 15 s, and the records end equal to a clean recompute', async () => {
  const brains = await startReplicas({ FEED_PAGE_SIZE: '20' });
  const { stack, replicas } = brains;
  try {
    const holder = await theConsumer(replicas);
    const survivor = replicas.find((replica) => replica !== holder)!;
    expect(holder.output.some((line) => line.includes('took the feed consumer lock'))).toBe(true);
    expect(survivor.output.some((line) => line.includes('another replica holds the feed consumer lock'))).toBe(true);

    const users = ['ha-a', 'ha-b', 'ha-c'];
    const { state, done } = logInBackground(stack.logger.url, users, 16, 40);
    await metricReaches(holder.url, 'mastery_feed_events_total{outcome="applied"}', '>', 0, { pollMs: 5 });
    expect(state.writing).toBe(true);
    await holder.kill('SIGKILL');
    const killedAt = Date.now();
    await metricReaches(survivor.url, ACTIVE, '===', 1, { timeoutMs: 15_000, pollMs: 50 });
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(15_000);
    await eventually("the survivor's log line 'took the feed consumer lock'", () =>
      survivor.output.some((line) => line.includes('took the feed consumer lock')),
    );

    await done;
    await caughtUp(survivor.url, Math.max(...state.logged.map((e) => e.seq)));
    for (const user of users) expect(await readMastery(survivor.url, user)).toEqual(expectedRecords(state.logged, user));
    expect(await recordsOf(survivor.url, users)).toEqual(await cleanRun(stack.logger.url, users));
  } finally {
    await stopReplicas(brains);
  }
});

test('the consumer stopped with SIGTERM releases the lock at once: the other replica consumes within a lock retry', async () => {
  const brains = await startReplicas();
  const { stack, replicas } = brains;
  try {
    const holder = await theConsumer(replicas);
    const survivor = replicas.find((replica) => replica !== holder)!;
    await holder.kill('SIGTERM');
    const stoppedAt = Date.now();
    await metricReaches(survivor.url, ACTIVE, '===', 1, { timeoutMs: 5_000, pollMs: 50 });
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    const [event] = await logEvents(stack.logger.url, mixedEvents('handed-over', 1, 1));
    await caughtUp(survivor.url, event!.seq);
    expect(await readMastery(survivor.url, 'handed-over')).toEqual(expectedRecords([event!], 'handed-over'));
  } finally {
    await stopReplicas(brains);
  }
});

test("the consumer's database session ended under it while events flow: it stops applying, one replica consumes again, and nothing is lost or doubled", async () => {
  const brains = await startReplicas({ FEED_PAGE_SIZE: '20' });
  const { stack, replicas } = brains;
  try {
    const holder = await theConsumer(replicas);
    const users = ['cut-a', 'cut-b'];
    // Until the session has ended, however fast this machine logs.
    const { state, done } = logInBackground(stack.logger.url, users, 1000, 40);
    await metricReaches(holder.url, 'mastery_feed_events_total{outcome="applied"}', '>', 0, { pollMs: 5 });
    // The session holding the lock (an advisory lock on a bigint key shows as classid, objid).
    const ended = await withDatabase(stack.brainEnv.DATABASE_URL!, async (db) => {
      const { rows } = await db.raw<{ rows: Array<{ ended: boolean }> }>(
        `select pg_terminate_backend(pid) as ended from pg_locks
         where locktype = 'advisory' and granted and ((classid::bigint << 32) | objid::bigint) = 7265732001`,
      );
      return rows.map((row) => row.ended);
    });
    expect(ended).toEqual([true]);
    expect(state.writing).toBe(true);
    await eventually("the holder's log line 'lost the feed consumer lock'", () =>
      holder.output.some((line) => line.includes('lost the feed consumer lock')),
    );
    await theConsumer(replicas);
    state.stop = true;
    await done;
    const consumer = await theConsumer(replicas);
    await caughtUp(consumer.url, Math.max(...state.logged.map((e) => e.seq)));
    for (const user of users) expect(await readMastery(consumer.url, user)).toEqual(expectedRecords(state.logged, user));
    expect(await recordsOf(consumer.url, users)).toEqual(await cleanRun(stack.logger.url, users));
  } finally {
    await stopReplicas(brains);
  }
});

test('recomputes on both replicas racing the consumer while events flow end like one clean run; both replicas read the same records', async () => {
  // Small feed pages keep the consumer behind the recomputes, so it meets events they already folded.
  const brains = await startReplicas({ FEED_PAGE_SIZE: '5' });
  const { stack, replicas } = brains;
  try {
    const consumer = await theConsumer(replicas);
    const users = ['race-a', 'race-b'];
    const { state, done } = logInBackground(stack.logger.url, users, 10, 100);
    const recomputes: Array<Promise<{ status: number }>> = [];
    while (state.writing) {
      const round = replicas.flatMap((replica) =>
        users.map((user) => request(`${replica.url}/mastery/recompute/${encodeURIComponent(user)}`, { method: 'POST' })),
      );
      recomputes.push(...round);
      // Reads on both replicas meanwhile: a replica that cached them would answer stale ones at the end.
      for (const replica of replicas) for (const user of users) await readMastery(replica.url, user);
      await Promise.all(round);
    }
    await done;
    for (const res of await Promise.all(recomputes)) expect(res.status).toBe(200);
    expect(recomputes.length).toBeGreaterThanOrEqual(8);
    await caughtUp(consumer.url, Math.max(...state.logged.map((e) => e.seq)));

    const clean = await cleanRun(stack.logger.url, users);
    for (const replica of replicas) expect(await recordsOf(replica.url, users)).toEqual(clean);
    for (const user of users) expect(await readMastery(consumer.url, user)).toEqual(expectedRecords(state.logged, user));
    // The race happened: the consumer met events a recompute had already folded, and skipped them.
    expect(await metric(consumer.url, 'mastery_feed_events_total{outcome="already_applied"}')).toBeGreaterThan(0);
  } finally {
    await stopReplicas(brains);
  }
});
