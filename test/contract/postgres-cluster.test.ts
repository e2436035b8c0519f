/**
 * The cluster pieces on PostgreSQL: the NOTIFY bus between nodes (and its
 * recovery when its LISTEN connection is cut) and the POP3 maildrop lock.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import type { MailboxSignal } from '../../src/notify/bus.js';
import { PgNotifyBus } from '../../src/notify/pg-bus.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { PgMaildropLocks } from '../../src/store/postgres/maildrop-locks.js';
import { startPostgres } from '../helpers/postgres.js';
import { MailDomain } from '../../src/domain/mail-domain.js';
import { createImapSession } from '../../src/imap/session.js';
import { testImapContext } from '../../src/imap/harness.test.js';
import { FakeConnection } from '../helpers/fake-connection.js';

const server = await startPostgres();
after(() => server.stop());

/** Resolves with the first signal that `accept` takes. */
function nextSignal(bus: PgNotifyBus, accountId: number, accept: (s: MailboxSignal) => boolean): Promise<MailboxSignal> {
  return new Promise((resolve) => {
    const unsubscribe = bus.subscribe(accountId, (s) => {
      if (!accept(s)) return;
      unsubscribe();
      resolve(s);
    });
  });
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('postgres NOTIFY bus', () => {
  it('carries a signal from one node to the other, and to its own listeners once', async () => {
    const schema = await server.newSchema();
    const a = await PgNotifyBus.open({ url: server.url, schema });
    const b = await PgNotifyBus.open({ url: server.url, schema });
    try {
      const own: MailboxSignal[] = [];
      a.subscribe(7, (s) => own.push(s));
      const remote = nextSignal(b, 7, (s) => s.mailboxId === 42);
      a.publish({ accountId: 7, mailboxId: 42 });
      assert.deepEqual(await remote, { accountId: 7, mailboxId: 42 });
      // A round trip through B to A proves A has seen everything NOTIFY would bring it.
      const back = nextSignal(a, 7, (s) => s.mailboxId === 43);
      b.publish({ accountId: 7, mailboxId: 43 });
      await back;
      assert.deepEqual(own.filter((s) => s.mailboxId === 42), [{ accountId: 7, mailboxId: 42 }]);

      const list = new Promise((resolve) => b.subscribeMailboxList(7, resolve));
      a.publishMailboxList({ accountId: 7, change: 'renamed', name: 'New', oldName: 'Old', origin: 'session-1' });
      assert.deepEqual(await list, { accountId: 7, change: 'renamed', name: 'New', oldName: 'Old' });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('reconnects when its LISTEN connection is cut, and signals every mailbox of its accounts so sessions catch up', async () => {
    const schema = await server.newSchema();
    const store = await openPostgresStore(server.url, { schema });
    const account = await store.createAccount('alice@example.com', 'h', null);
    const inbox = await store.createMailbox(account.id, 'INBOX');
    const a = await PgNotifyBus.open({ url: server.url, schema });
    const b = await PgNotifyBus.open({ url: server.url, schema });
    try {
      const resynced = nextSignal(b, account.id, (s) => s.mailboxId === inbox.id);
      const cut = await admin((c) =>
        c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()`, [
          `LISTEN mailstead_${schema}`,
        ]),
      );
      assert.equal(cut.rowCount, 2, 'both LISTEN connections were cut');
      await resynced;
      // Listening again: a new signal from A arrives.
      const again = nextSignal(b, account.id, (s) => s.mailboxId === 99);
      a.publish({ accountId: account.id, mailboxId: 99 });
      await again;
    } finally {
      await a.close();
      await b.close();
      await store.close();
    }
  });
});

describe('postgres maildrop locks', () => {
  it('excludes other nodes and this node\'s other sessions, and goes when its node\'s connection dies', async () => {
    const schema = await server.newSchema();
    const a = new PgMaildropLocks(server.url, schema);
    const b = new PgMaildropLocks(server.url, schema);
    try {
      assert.equal(await a.tryLock(1, ''), true);
      assert.equal(await a.tryLock(1, ''), false, 'a second session on the same node');
      assert.equal(await b.tryLock(1, ''), false, 'a session on another node');
      assert.equal(await b.tryLock(1, 'phone'), true, 'another device has its own maildrop');
      await a.unlock(1, '');
      assert.equal(await b.tryLock(1, ''), true);
      await b.unlock(1, '');

      assert.equal(await a.tryLock(2, ''), true);
      // Node A's connection dies (as when the node is killed): PostgreSQL releases its locks.
      await admin((c) =>
        c.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_try_advisory_lock%' AND pid <> pg_backend_pid()
             AND backend_start = (SELECT min(backend_start) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_try_advisory_lock%')`,
        ),
      );
      let taken = false;
      for (let i = 0; i < 100 && !taken; i++) {
        taken = await b.tryLock(2, '');
        if (!taken) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(taken, 'the dead node\'s lock was released');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

// ---- ACL (RFC 4314): a mailbox shared across nodes, rights enforced, push to the grantee's IDLE.

const mail = (subject: string) => Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`);

async function node(schema: string): Promise<{ domain: MailDomain; close(): Promise<void> }> {
  const store = await openPostgresStore(server.url, { schema });
  const bus = await PgNotifyBus.open({ url: server.url, schema });
  return {
    domain: new MailDomain(store, bus),
    async close() {
      await bus.close();
      await store.close();
    },
  };
}

/** A logged-in IMAP session on `domain`; `cmd` sends a command and returns everything up to its tagged reply. */
async function session(domain: MailDomain, user: string, password: string) {
  const conn = new FakeConnection({ secure: true, remoteAddress: '192.0.2.1' });
  const s = createImapSession(conn, testImapContext(domain));
  conn.session = s;
  await conn.waitFor('Mailstead ready\r\n');
  let n = 0;
  const cmd = async (text: string) => {
    const tag = `t${++n}`;
    conn.take();
    conn.send(`${tag} ${text}\r\n`);
    await conn.waitFor(new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r]*\\r\\n`));
    return conn.take();
  };
  assert.match(await cmd(`LOGIN ${user} "${password}"`), /t1 OK/);
  return { conn, cmd, close: () => s.closed() };
}

it('a grantee on another node reads a shared mailbox with its rights enforced and hears the owner\'s changes in IDLE', async () => {
  const schema = await server.newSchema();
  const a = await node(schema);
  const b = await node(schema);
  try {
    const alice = await a.domain.createAccount('alice@example.com', 'alice password');
    await b.domain.createAccount('bob@example.com', 'bob password');
    await a.domain.createMailbox(alice.id, 'Team');
    await a.domain.deliver('alice@example.com', mail('first'), 'Team');

    const owner = await session(a.domain, 'alice@example.com', 'alice password');
    assert.match(await owner.cmd('SETACL Team bob@example.com l'), /OK/);
    const bob = await session(b.domain, 'bob@example.com', 'bob password');
    assert.match(await bob.cmd('SELECT Shared/alice@example.com/Team'), /NO \[NOPERM\] /);
    assert.match(await owner.cmd('SETACL Team bob@example.com +rs'), /OK/);
    assert.match(await bob.cmd('SELECT Shared/alice@example.com/Team'), /\* 1 EXISTS\r\n[\s\S]*OK \[READ-WRITE\]/);

    bob.conn.send('i IDLE\r\n');
    await bob.conn.waitFor('+ idling\r\n');
    bob.conn.take();
    await a.domain.deliver('alice@example.com', mail('second'), 'Team');
    // An IMAP4rev1 session also learns RECENT, in the same write or the next.
    assert.match(await bob.conn.waitFor('RECENT'), /^\* 2 EXISTS\r\n\* \d+ RECENT\r\n$/);
    bob.conn.send('DONE\r\n');
    await bob.conn.waitFor(/i OK/);
    assert.match(await bob.cmd('STORE 2 +FLAGS (\\Deleted)'), /NO \[NOPERM\] /);
    owner.close();
    bob.close();
  } finally {
    await a.close();
    await b.close();
  }
});
