/**
 * The POP3 maildrop lock across nodes (domain/maildrop-locks.ts defines the
 * interface; this class matches it structurally, so the store does not
 * import the domain): a session-level advisory lock per (account, device),
 * all held on one dedicated connection per node. When the node dies its
 * connection closes and PostgreSQL releases every lock it held at once
 * (TCP keepalive covers a host that vanishes without closing).
 *
 * Session-level advisory locks are re-entrant on their own connection, so
 * this node's own holders are tracked in memory first. The key is two
 * int4: a class for the schema, and a hash of "account#device"; two pairs
 * whose hashes collide (about 1 in 4 billion) would exclude each other,
 * which errs on the side of RFC 1939 §8's exclusive access.
 */
import pg from 'pg';
import { StoreError } from '../types.js';

export class PgMaildropLocks {
  /** Claimed by a session of this node (checked first: advisory locks are re-entrant on one connection). */
  private readonly held = new Set<string>();
  /** Confirmed by PostgreSQL: taken again after a reconnection. */
  private readonly locked = new Set<string>();
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  /** Serialises lock calls on the one connection. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly schema: string | undefined,
  ) {}

  async tryLock(accountId: number, device: string): Promise<boolean> {
    const key = `${accountId}#${device}`;
    if (this.held.has(key)) return false;
    this.held.add(key); // claimed while the query runs, so a second local caller sees it
    try {
      const r = await this.run((c) =>
        c.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_lock(hashtext($1 || \':maildrop\'), hashtext($2)) AS ok',
          [this.schema ?? 'public', key],
        ),
      );
      if (r.rows[0].ok) {
        this.locked.add(key);
        return true;
      }
      this.held.delete(key);
      return false;
    } catch (err) {
      this.held.delete(key);
      throw err;
    }
  }

  async unlock(accountId: number, device: string): Promise<void> {
    const key = `${accountId}#${device}`;
    if (!this.held.delete(key)) return;
    this.locked.delete(key);
    try {
      await this.run((c) =>
        c.query('SELECT pg_advisory_unlock(hashtext($1 || \':maildrop\'), hashtext($2))', [this.schema ?? 'public', key]),
      );
    } catch {
      // The connection is gone, and its locks with it.
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.held.clear();
    this.locked.clear();
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private run<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      try {
        return await fn(await this.connection());
      } catch (err) {
        if (err instanceof StoreError) throw err;
        throw new StoreError('STORE_UNAVAILABLE', `Maildrop lock unavailable: ${(err as Error).message}`);
      }
    });
    this.queue = next.catch(() => {});
    return next;
  }

  private async connection(): Promise<pg.Client> {
    if (this.closed) throw new StoreError('STORE_UNAVAILABLE', 'The maildrop locks are closed');
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, keepAlive: true });
      client.on('error', () => {
        // Every lock of this connection went with it; the next call reconnects and takes
        // this node's locks again (this node still excludes its own sessions meanwhile).
        if (this.client === client) this.client = null;
      });
      await client.connect();
      for (const key of this.locked) {
        await client.query("SELECT pg_try_advisory_lock(hashtext($1 || ':maildrop'), hashtext($2))", [this.schema ?? 'public', key]);
      }
      this.client = client;
      return client;
    })().finally(() => (this.connecting = null));
    return this.connecting;
  }
}
