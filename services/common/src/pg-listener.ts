// LISTEN on a PostgreSQL channel over a connection of its own (a pooled connection cannot hold a
// LISTEN: the pool hands it to other queries). When the connection breaks, it reconnects with
// backoff, and calls `onNotify` once connected again: a notification sent meanwhile is lost, so the
// listener behaves as if one had arrived.
import pg from 'pg';
import type { Logger } from './logger.js';

export interface PgListenerOptions {
  url: string;
  channel: string;
  onNotify: () => void;
  logger: Logger;
  connectTimeoutMs: number;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

export class PgListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  private constructor(private readonly options: PgListenerOptions) {}

  /** Resolves once listening, or after the first failure (it then keeps trying in the background). */
  static async start(options: PgListenerOptions): Promise<PgListener> {
    const listener = new PgListener(options);
    await listener.connect();
    return listener;
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  private async connect(): Promise<void> {
    const { url, channel, onNotify, logger, connectTimeoutMs } = this.options;
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: connectTimeoutMs,
      application_name: 'learning-analytics',
    });
    client.on('notification', (message) => {
      if (message.channel === channel) onNotify();
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`listen ${client.escapeIdentifier(channel)}`);
    } catch (err) {
      this.lost(client, err as Error);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.failures > 0) logger.info({ channel, failures: this.failures }, 'listening for commits again');
    this.failures = 0;
    onNotify();
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client === client) this.client = undefined;
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.closed || this.retryTimer) return;
    const { channel } = this.options;
    this.failures += 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.failures - 1));
    const line = { channel, reason: err.message, retry_in_ms: delay };
    if (this.failures === 1) this.options.logger.warn(line, 'lost the connection that listens for commits; reconnecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
