/**
 * The bus across nodes: PostgreSQL LISTEN/NOTIFY. A signal is delivered to
 * this node's listeners at once (as LocalBus does) and sent with
 * pg_notify to every other node, whose listeners get it as if published
 * there. Signals only ("mailbox M of account A changed"): sessions read the
 * change log from the store themselves, so a lost or repeated signal costs
 * a read, never a wrong view.
 *
 * LISTEN needs a connection of its own (a pooled one would lose it). When
 * that connection drops, the bus reconnects with backoff, listens again,
 * and then signals every mailbox of every account with listeners on this
 * node: whatever changed while it was deaf, sessions catch up from the log.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../observability/log.js';
import type { MailboxListener, MailboxListListener, MailboxListSignal, MailboxSignal, NotifyBus } from './bus.js';
import { LocalBus } from './bus.js';

/** pg_notify refuses payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7900;
const MAX_BACKOFF_MS = 5000;
const NOTIFY_SQL = "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)";

interface Wire {
  /** The sending node: its own signals come back to it and are skipped. */
  n: string;
  a: number;
  m?: number;
  c?: MailboxListSignal['change'];
  name?: string;
  old?: string;
}

export interface PgBusOptions {
  url: string;
  /** The store's schema: nodes on different schemas of one database do not hear each other. */
  schema?: string;
  log?: Logger;
  /** Publish only (the `deliver` and `user` commands): no LISTEN connection. */
  publishOnly?: boolean;
}

export class PgNotifyBus implements NotifyBus {
  private readonly local = new LocalBus();
  private readonly nodeId = randomUUID();
  private readonly channel: string;
  private readonly pool: pg.Pool;
  private listener: pg.Client | null = null;
  private closed = false;
  private backoffMs = 100;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Accounts with listeners on this node, with their listener counts. */
  private readonly accounts = new Map<number, number>();
  private readonly pending = new Set<Promise<unknown>>();

  private constructor(private readonly options: PgBusOptions) {
    this.channel = `mailstead_${options.schema ?? 'public'}`;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: 2,
      options: options.schema ? `-c search_path=${options.schema}` : undefined,
    });
    this.pool.on('error', () => {});
  }

  /** Connects and listens (unless publish-only) before returning, so no signal sent after this is missed. */
  static async open(options: PgBusOptions): Promise<PgNotifyBus> {
    const bus = new PgNotifyBus(options);
    if (!options.publishOnly) await bus.listen();
    return bus;
  }

  publish(signal: MailboxSignal): void {
    this.local.publish(signal);
    this.send({ n: this.nodeId, a: signal.accountId, m: signal.mailboxId });
  }

  subscribe(accountId: number, listener: MailboxListener): () => void {
    return this.track(accountId, this.local.subscribe(accountId, listener));
  }

  publishMailboxList(signal: MailboxListSignal): void {
    this.local.publishMailboxList(signal);
    // origin names a session of this node; it means nothing elsewhere.
    this.send({ n: this.nodeId, a: signal.accountId, c: signal.change, name: signal.name, old: signal.oldName });
  }

  subscribeMailboxList(accountId: number, listener: MailboxListListener): () => void {
    return this.track(accountId, this.local.subscribeMailboxList(accountId, listener));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await Promise.allSettled([...this.pending]);
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => {});
    await this.pool.end().catch(() => {});
    await this.local.close();
  }

  private track(accountId: number, unsubscribe: () => void): () => void {
    this.accounts.set(accountId, (this.accounts.get(accountId) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      unsubscribe();
      const left = (this.accounts.get(accountId) ?? 1) - 1;
      if (left > 0) this.accounts.set(accountId, left);
      else this.accounts.delete(accountId);
    };
  }

  private send(wire: Wire): void {
    if (this.closed) return;
    const payload = JSON.stringify(wire);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      // Only a list change with absurdly long names gets here; other nodes see it at their next LIST.
      this.options.log?.warn({ accountId: wire.a }, 'mailbox list signal too large for NOTIFY; not sent to other nodes');
      return;
    }
    // A NOTIFY takes a transaction id, so its commit would wait for a WAL flush (synchronous_commit):
    // a signal needs none (it is lost in a database crash either way, and sessions then resync), so
    // this transaction commits without waiting and the other nodes hear of the change a flush sooner.
    const p = this.pool.query(NOTIFY_SQL, [this.channel, payload]).catch((err: unknown) => {
      // Other nodes' sessions catch up at their next command or at the reconnection resync.
      this.options.log?.warn({ err: (err as Error).message }, 'could not send a signal to other nodes');
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url, keepAlive: true });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => {
      if (msg.channel === this.channel && msg.payload) this.receive(msg.payload);
    });
    await client.connect();
    await client.query(`LISTEN ${this.channel}`);
    this.listener = client;
    this.backoffMs = 100;
  }

  private receive(payload: string): void {
    let wire: Wire;
    try {
      wire = JSON.parse(payload) as Wire;
    } catch {
      return;
    }
    if (wire.n === this.nodeId || !Number.isSafeInteger(wire.a)) return;
    if (Number.isSafeInteger(wire.m)) {
      this.local.publish({ accountId: wire.a, mailboxId: wire.m! });
    } else if (wire.c && typeof wire.name === 'string') {
      const signal: MailboxListSignal = { accountId: wire.a, change: wire.c, name: wire.name };
      if (wire.c === 'renamed' && typeof wire.old === 'string') signal.oldName = wire.old;
      this.local.publishMailboxList(signal);
    }
  }

  private lost(client: pg.Client): void {
    if (this.closed || this.listener !== client) return;
    this.listener = null;
    client.end().catch(() => {});
    this.options.log?.warn('lost the LISTEN connection to PostgreSQL; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.listen().then(
        () => {
          this.options.log?.info('listening to PostgreSQL again');
          void this.resync();
        },
        () => this.scheduleReconnect(),
      );
    }, delay);
    this.reconnectTimer.unref();
  }

  /** After a gap in listening: every mailbox of every account with listeners here may have changed. */
  private async resync(): Promise<void> {
    const accounts = [...this.accounts.keys()];
    if (accounts.length === 0) return;
    try {
      const r = await this.pool.query<{ id: string; account_id: string }>(
        'SELECT id, account_id FROM mailboxes WHERE account_id = ANY($1::bigint[])',
        [accounts],
      );
      for (const row of r.rows) this.local.publish({ accountId: Number(row.account_id), mailboxId: Number(row.id) });
    } catch {
      // The database went again; the next reconnection resyncs.
    }
  }
}
