// Which replica runs the feed consumer, and the transactions it applies pages in. On SQLite there is
// one replica, and it always does. On PostgreSQL it is the replica whose session of its own holds a
// session-level advisory lock, and the consumer's transactions run on that very session: the lock
// ends only with the session (or when released after the consumer stopped), and nothing commits on
// a session that has ended, so no page is ever applied by a replica that has lost the lock. A replica
// killed outright frees it as soon as the server sees its connection close; the others try again
// every LOCK_RETRY_MS.
import { setTimeout as wait } from 'node:timers/promises';
import { engineOf, openDatabase, type DatabaseSettings, type Knex, type Logger } from '@learning-analytics/common';

export interface ConsumerLease {
  /** Runs `work` in a transaction that can only commit while this replica holds the lease. */
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /** True once the lease is gone (its session broke): nothing more commits through it. */
  readonly lost: boolean;
  release(): Promise<void>;
}

export interface ConsumerLeases {
  /** Resolves once this replica holds the lease, or with undefined when `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<ConsumerLease | undefined>;
  close(): Promise<void>;
}

/** The advisory lock's key: a constant nothing else in the Brain's database locks. */
const FEED_CONSUMER_LOCK_KEY = 7_265_732_001;
/** How often a replica without the lock tries again: the bound on a takeover after the holder died. */
const LOCK_RETRY_MS = 2_000;

/** `settings`: the database's, for the session of its own the lock needs on PostgreSQL. */
export function consumerLeases(db: Knex, settings: DatabaseSettings, logger: Logger): ConsumerLeases {
  if (engineOf(db) === 'sqlite') {
    const lease: ConsumerLease = { lost: false, transaction: (work) => db.transaction(work), release: () => Promise.resolve() };
    return { acquire: () => Promise.resolve(lease), close: () => Promise.resolve() };
  }
  return new AdvisoryLockLeases(settings, logger);
}

/** What the lease uses of knex's client: raw connections out of its pool, and back. */
interface ConnectionPool {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

/** The node-postgres client under a knex connection: what the lease uses of it. */
interface PgSession {
  query(text: string, values: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  end(): Promise<void>;
  on(event: 'error' | 'end', listener: () => void): unknown;
  off(event: 'error' | 'end', listener: () => void): unknown;
}

class AdvisoryLockLeases implements ConsumerLeases {
  /** One connection, in a pool of its own: the session never serves the service's other queries. */
  private readonly sessions: Knex;
  private readonly pool: ConnectionPool;

  constructor(
    settings: DatabaseSettings,
    private readonly logger: Logger,
  ) {
    this.sessions = openDatabase({ ...settings, poolSize: 1 });
    this.pool = this.sessions.client as ConnectionPool;
  }

  async acquire(signal: AbortSignal): Promise<ConsumerLease | undefined> {
    let waiting = false;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const lease = await this.tryLock();
        if (lease) {
          this.logger.info({ lock_key: FEED_CONSUMER_LOCK_KEY }, 'took the feed consumer lock: this replica consumes the feed');
          return lease;
        }
        if (!waiting) this.logger.info({ retry_every_ms: LOCK_RETRY_MS }, 'another replica holds the feed consumer lock; waiting for it');
        waiting = true;
        failures = 0;
      } catch (err) {
        failures += 1;
        const line = { err, failures, retry_in_ms: LOCK_RETRY_MS };
        if (failures === 1) this.logger.warn(line, 'could not try the feed consumer lock');
        else this.logger.debug(line, 'could not try the feed consumer lock again');
      }
      await wait(LOCK_RETRY_MS, undefined, { signal }).catch(() => undefined);
    }
    return undefined;
  }

  private async tryLock(): Promise<ConsumerLease | undefined> {
    const session = (await this.pool.acquireConnection()) as PgSession;
    let held = false;
    try {
      const { rows } = await session.query('select pg_try_advisory_lock($1::bigint) as held', [FEED_CONSUMER_LOCK_KEY]);
      held = rows[0]?.held === true;
    } finally {
      // Not held: the connection waits in the pool for the next try.
      if (!held) await this.pool.releaseConnection(session);
    }
    return held ? new SessionLease(this.sessions, this.pool, session) : undefined;
  }

  close(): Promise<void> {
    return this.sessions.destroy();
  }
}

class SessionLease implements ConsumerLease {
  lost = false;
  private readonly onLost = () => {
    this.lost = true;
  };

  constructor(
    private readonly sessions: Knex,
    private readonly pool: ConnectionPool,
    private readonly session: PgSession,
  ) {
    session.on('error', this.onLost);
    session.on('end', this.onLost);
  }

  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    if (this.lost) return Promise.reject(new Error('the feed consumer lock was lost: its database session ended'));
    return this.sessions.transaction(work, { connection: this.session });
  }

  /** Unlocks and hands the session back to the pool; a session that cannot unlock is ended, which frees the lock too. */
  async release(): Promise<void> {
    this.session.off('error', this.onLost);
    this.session.off('end', this.onLost);
    if (!this.lost) {
      this.lost = true;
      await this.session
        .query('select pg_advisory_unlock($1::bigint)', [FEED_CONSUMER_LOCK_KEY])
        .catch(() => this.session.end().catch(() => undefined));
    }
    await this.pool.releaseConnection(this.session);
  }
}
