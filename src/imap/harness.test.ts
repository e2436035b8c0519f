/**
 * Test harness (no tests of its own): a real SQLite store in memory, the
 * local bus and the domain, and sessions driven through FakeConnection.
 */
import { MailDomain } from '../domain/mail-domain.js';
import { LocalBus } from '../notify/bus.js';
import { silentLogger } from '../observability/log.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import { FakeConnection } from '../../test/helpers/fake-connection.js';
import { createImapSession, type ImapContext } from './session.js';

export const ALICE = 'alice@example.com';
export const PASSWORD = 'correct horse';

export interface Harness {
  domain: MailDomain;
  /** A session on a connection; `login` logs in as alice over TLS first. */
  /** `user`/`password`: log in as another account than alice (one the test created). */
  open(opts?: { secure?: boolean; remoteAddress?: string; login?: boolean; user?: string; password?: string; ctx?: Partial<ImapContext> }): Promise<Client>;
  close(): Promise<void>;
}

export class Client {
  private n = 0;
  constructor(readonly conn: FakeConnection) {}

  /** Send one command and return everything written up to and including its tagged reply. */
  async cmd(text: string, tag = `t${++this.n}`): Promise<string> {
    this.conn.take();
    this.conn.send(`${tag} ${text}\r\n`);
    return this.waitTagged(tag);
  }

  async waitTagged(tag: string): Promise<string> {
    await this.conn.waitFor(new RegExp(`(^|\\r\\n)${escape(tag)} (OK|NO|BAD)[^\\r]*\\r\\n`));
    return this.conn.take();
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export async function createHarness(opts: { quotaBytes?: number | null } = {}): Promise<Harness> {
  const store = await openSqliteStore(':memory:');
  const bus = new LocalBus();
  const domain = new MailDomain(store, bus);
  await domain.createAccount(ALICE, PASSWORD, opts.quotaBytes ?? null);
  const sessions: Array<{ closed(): void }> = [];
  return {
    domain,
    async open(o = {}) {
      const conn = new FakeConnection({ secure: o.secure ?? o.login ?? false, remoteAddress: o.remoteAddress ?? '192.0.2.1' });
      const ctx: ImapContext = { ...testImapContext(domain), ...o.ctx };
      const session = createImapSession(conn, ctx);
      conn.session = session;
      sessions.push(session);
      await conn.waitFor('Mailstead ready\r\n');
      const client = new Client(conn);
      if (o.login) {
        conn.take();
        const r = await client.cmd(`LOGIN ${o.user ?? ALICE} "${o.password ?? PASSWORD}"`, "login");
        if (!/ OK /.test(r)) throw new Error(`login failed: ${r}`);
      }
      return client;
    },
    async close() {
      for (const s of sessions) s.closed();
      await bus.close();
      await store.close();
    },
  };
}

/** The session settings of the tests: short failure delay, the defaults otherwise. */
export function testImapContext(domain: MailDomain): ImapContext {
  return {
    domain,
    log: silentLogger(),
    hostname: 'mail.example.com',
    tlsAvailable: true,
    allowCleartextAuthFromLoopback: false,
    authFailureDelayMs: 10,
    idleKeepaliveMs: 120000,
    unauthenticatedTimeoutMs: 60000,
    authenticatedTimeoutMs: 1800000,
    maxMessageBytes: 1024 * 1024,
  };
}

/** A small message with CRLF line ends. */
export function message(opts: { subject?: string; from?: string; to?: string; body?: string; date?: string } = {}): Buffer {
  const lines = [
    `From: ${opts.from ?? 'Bob <bob@example.org>'}`,
    `To: ${opts.to ?? 'Alice <alice@example.com>'}`,
    `Subject: ${opts.subject ?? 'Hello'}`,
    `Date: ${opts.date ?? 'Mon, 7 Feb 1994 21:52:25 -0800'}`,
    'Message-ID: <1@example.org>',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body ?? 'Hello Alice, this is the body.',
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}
