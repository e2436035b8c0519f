/**
 * `mailstead serve` on PostgreSQL (`store = "postgres://..."`): mail survives
 * a restart; two and three nodes on one database share UIDs, push and the
 * POP3 maildrop lock (issue 11, "PostgreSQL and several nodes").
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { after, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { cli, makeMessage, startServer, type TestServer } from '../helpers/server.js';
import { startPostgres } from '../helpers/postgres.js';

const pg = await startPostgres();
after(() => pg.stop());

function imap(server: TestServer, user = 'alice@example.com', pass = 'pw'): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: server.ports.imaps,
    secure: true,
    tls: { ca: [server.certPem], servername: 'localhost' },
    auth: { user, pass },
    logger: false,
  });
}

function addUser(url: string, address: string, password: string): void {
  const r = cli(['user', 'add', address, '--password-stdin', '--store', url], `${password}\n`);
  assert.equal(r.status, 0, r.stderr);
}

/** A node on the database `url`, with its own data directory (TLS files only). */
const node = (url: string) => startServer({ config: { store: url } });

/** A minimal POP3S client: one command, one status line. */
class Pop3 {
  private buffered = '';
  private waiting: ((line: string) => void) | null = null;

  private constructor(private readonly socket: TLSSocket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffered += text;
      this.deliver();
    });
    socket.on('error', () => {});
  }

  static async open(server: TestServer): Promise<Pop3> {
    const socket = connect({ host: '127.0.0.1', port: server.ports.pop3s, ca: [server.certPem], servername: 'localhost' });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const client = new Pop3(socket);
    assert.match(await client.line(), /^\+OK/);
    return client;
  }

  async command(text: string): Promise<string> {
    const reply = this.line();
    this.socket.write(`${text}\r\n`);
    return reply;
  }

  async login(user: string, pass: string): Promise<string> {
    assert.match(await this.command(`USER ${user}`), /^\+OK/);
    return this.command(`PASS ${pass}`);
  }

  close(): void {
    this.socket.destroy();
  }

  private line(): Promise<string> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.deliver();
    });
  }

  private deliver(): void {
    const nl = this.buffered.indexOf('\r\n');
    if (nl === -1 || !this.waiting) return;
    const line = this.buffered.slice(0, nl);
    this.buffered = this.buffered.slice(nl + 2);
    const resolve = this.waiting;
    this.waiting = null;
    resolve(line);
  }
}

describe('serve on PostgreSQL', () => {
  test('APPEND and FETCH through a node, and the mail is still there after a restart', async () => {
    const url = await pg.newDatabase();
    const first = await node(url);
    try {
      addUser(url, 'alice@example.com', 'pw');
      const c = imap(first);
      await c.connect();
      const raw = makeMessage({ subject: 'kept in postgres', body: 'x'.repeat(600_000) });
      const appended = await c.append('INBOX', raw, ['\\Flagged']);
      assert.ok(appended);
      await c.mailboxOpen('INBOX');
      const fetched = await c.fetchOne(String(appended.uid), { source: true, flags: true }, { uid: true });
      assert.ok(fetched);
      assert.equal(fetched.source!.toString(), raw);
      await c.logout();
    } finally {
      assert.equal(await first.stop(), 0);
      first.cleanup();
    }
    // A new node, a new data directory: everything is in the database.
    const second = await node(url);
    try {
      const c = imap(second);
      await c.connect();
      const mb = await c.mailboxOpen('INBOX');
      assert.equal(mb.exists, 1);
      const msg = await c.fetchOne('1', { envelope: true, flags: true, size: true });
      assert.ok(msg);
      assert.equal(msg.envelope!.subject, 'kept in postgres');
      assert.ok(msg.flags!.has('\\Flagged'));
      await c.logout();
    } finally {
      await second.stop();
      second.cleanup();
    }
  });
});

describe('commands on a PostgreSQL store', () => {
  test('import --direct --store writes into the cluster and wakes IDLE on a node', async () => {
    const url = await pg.newDatabase();
    const a = await node(url);
    const dir = mkdtempSync(join(tmpdir(), 'mailstead-pg-import-'));
    try {
      addUser(url, 'alice@example.com', 'pw');
      mkdirSync(join(dir, 'eml'));
      writeFileSync(join(dir, 'eml', 'one.eml'), makeMessage({ subject: 'imported one' }));
      writeFileSync(join(dir, 'eml', 'two.eml'), makeMessage({ subject: 'imported two' }));
      const watcher = imap(a);
      await watcher.connect();
      await watcher.mailboxOpen('INBOX');
      const woken = new Promise<void>((resolve) => watcher.on('exists', (d: { count: number }) => d.count === 2 && resolve()));
      const idling = watcher.idle();
      const r = cli(['import', join(dir, 'eml'), '--direct', '--store', url, '--to', 'alice@example.com', '--map', 'eml=INBOX', '--no-progress']);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^imported 2 messages/m);
      await woken;
      await watcher.logout().catch(() => {});
      await idling.catch(() => {});
    } finally {
      await a.stop();
      a.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A QRESYNC client's state (RFC 7162 §3.2.5): what it must keep to resynchronise without fetching. */
interface QresyncState {
  uidValidity: bigint;
  highestModseq: bigint;
  uidNext: number;
  /** UID -> flags, as the client last saw them. */
  messages: Map<number, string[]>;
}

/** What SELECT (QRESYNC ...) told an imapflow client: VANISHED (EARLIER) UIDs and FETCHed UIDs with their flags. */
async function resync(server: TestServer, mailbox: string, state: QresyncState) {
  const c = new ImapFlow({
    host: '127.0.0.1',
    port: server.ports.imaps,
    secure: true,
    tls: { ca: [server.certPem], servername: 'localhost' },
    auth: { user: 'alice@example.com', pass: 'pw' },
    logger: false,
    qresync: true,
  });
  const vanished: number[] = [];
  const fetched = new Map<number, string[]>();
  c.on('expunge', (e: { uid?: number; vanished: boolean; earlier?: boolean }) => {
    assert.ok(e.vanished && e.earlier && e.uid, `expected VANISHED (EARLIER), got ${JSON.stringify(e)}`);
    vanished.push(e.uid);
  });
  c.on('flags', (f: { uid?: number; flags: Set<string> }) => {
    assert.ok(f.uid, 'FETCH during SELECT carries the UID');
    fetched.set(f.uid, [...f.flags].sort());
  });
  await c.connect();
  assert.ok(c.enabled.has('QRESYNC'), 'QRESYNC enabled');
  const opened = await c.mailboxOpen(mailbox, { uidValidity: state.uidValidity, changedSince: state.highestModseq });
  await c.logout();
  return { opened, vanished: vanished.sort((a, b) => a - b), fetched };
}

/**
 * SELECT (QRESYNC (uidvalidity modseq known-uids)) over a raw socket, since
 * imapflow does not send known UIDs: the untagged VANISHED and FETCH lines.
 */
async function resyncKnownUids(server: TestServer, mailbox: string, state: QresyncState): Promise<string[]> {
  const socket = connect({ host: '127.0.0.1', port: server.ports.imaps, ca: [server.certPem], servername: 'localhost' });
  let text = '';
  socket.setEncoding('utf8');
  let closed = false;
  let grew: (() => void) | null = null;
  socket.on('data', (t: string) => {
    text += t;
    grew?.();
  });
  socket.on('close', () => {
    closed = true;
    grew?.();
  });
  socket.on('error', () => {});
  const wait = async (re: RegExp) => {
    while (!re.test(text)) {
      if (closed) throw new Error(`connection closed: ${text}`);
      await new Promise<void>((resolve) => (grew = resolve));
    }
  };
  await wait(/^\* OK/);
  socket.write('a LOGIN alice@example.com pw\r\nb ENABLE QRESYNC\r\n');
  await wait(/\r\nb OK/);
  const known = [...state.messages.keys()].join(',');
  const from = text.length;
  socket.write(`c SELECT ${mailbox} (QRESYNC (${state.uidValidity} ${state.highestModseq} ${known}))\r\n`);
  await wait(/\r\nc (OK|NO|BAD)[^\r]*\r\n/);
  const reply = text.slice(from);
  socket.end('d LOGOUT\r\n');
  assert.match(reply, /\r\nc OK/);
  return reply.split('\r\n').filter((l) => /^\* (VANISHED|\d+ FETCH)/.test(l));
}

describe('store copy', () => {
  test('a SQLite store copied into PostgreSQL: a QRESYNC client with state from before the copy has nothing to fetch, and sees a change made after it', async () => {
    const sqlite = await startServer();
    const url = await pg.newDatabase();
    let pgNode: TestServer | null = null;
    try {
      const r = cli(['user', 'add', 'alice@example.com', '--password-stdin', '--data-dir', sqlite.dataDir], 'pw\n');
      assert.equal(r.status, 0, r.stderr);
      const c = imap(sqlite);
      await c.connect();
      await c.mailboxCreate('Work');
      for (let i = 0; i < 6; i++) await c.append('INBOX', makeMessage({ subject: `before the copy ${i}` }), i % 2 ? ['\\Seen'] : []);
      await c.append('Work', makeMessage({ subject: 'work' }), ['$Later']);
      const early = await c.mailboxOpen('INBOX');
      const earlyState: QresyncState = { uidValidity: early.uidValidity, highestModseq: early.highestModseq!, uidNext: early.uidNext, messages: new Map() };
      await c.messageFlagsAdd('2', ['\\Flagged', '$Important'], { uid: true });
      await c.messageDelete('3', { uid: true });
      await c.messageMove('4', 'Work', { uid: true });
      await c.messageFlagsRemove('2', ['$Important'], { uid: true });
      // The client's state before the copy: UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT, the UIDs and their flags.
      const states = new Map<string, QresyncState>();
      for (const name of ['INBOX', 'Work']) {
        const mb = await c.mailboxOpen(name);
        const messages = new Map<number, string[]>();
        for await (const m of c.fetch('1:*', { uid: true, flags: true })) messages.set(m.uid, [...m.flags!].sort());
        states.set(name, { uidValidity: mb.uidValidity, highestModseq: mb.highestModseq!, uidNext: mb.uidNext, messages });
      }
      assert.deepEqual([...states.get('INBOX')!.messages.keys()], [1, 2, 5, 6]);
      await c.logout();
      // A client offline since before the flag changes and expunges is told them from the change log.
      const earlyOnSqlite = await resync(sqlite, 'INBOX', earlyState);
      assert.deepEqual(earlyOnSqlite.vanished, [3, 4]);
      assert.deepEqual([...earlyOnSqlite.fetched.keys()], [2]);
      assert.equal(await sqlite.stop(), 0);

      const copied = cli(['store', 'copy', '--from', sqlite.dataDir, '--to', url]);
      assert.equal(copied.status, 0, copied.stderr);
      assert.match(copied.stdout, /^copied 2 accounts and 6 messages/m);
      const again = cli(['store', 'copy', '--from', sqlite.dataDir, '--to', url]);
      assert.notEqual(again.status, 0, 'a finished copy is not repeated');

      pgNode = await node(url);
      // RFC 7162 §3.2.5.1: same UIDVALIDITY and HIGHESTMODSEQ, so nothing is sent: no VANISHED, no FETCH.
      for (const [name, state] of states) {
        const { opened, vanished, fetched } = await resync(pgNode, name, state);
        assert.equal(opened.uidValidity, state.uidValidity, name);
        assert.equal(opened.highestModseq, state.highestModseq, name);
        assert.equal(opened.uidNext, state.uidNext, name);
        assert.equal(opened.exists, state.messages.size, name);
        assert.deepEqual(vanished, [], `${name}: nothing vanished`);
        assert.deepEqual([...fetched.keys()], [], `${name}: nothing to fetch`);
        assert.deepEqual(await resyncKnownUids(pgNode, name, state), [], `${name}: nothing with known UIDs either`);
      }

      // The same change log after the copy: the same VANISHED and FETCH as the SQLite node gave.
      const earlyOnPg = await resync(pgNode, 'INBOX', earlyState);
      assert.deepEqual(earlyOnPg.vanished, earlyOnSqlite.vanished);
      assert.deepEqual([...earlyOnPg.fetched], [...earlyOnSqlite.fetched]);

      // Changes made after the copy reach the same client state.
      const later = imap(pgNode);
      await later.connect();
      await later.mailboxOpen('INBOX');
      await later.messageFlagsAdd('5', ['\\Answered'], { uid: true });
      await later.messageDelete('6', { uid: true });
      const appended = await later.append('INBOX', makeMessage({ subject: 'after the copy' }));
      assert.ok(appended);
      await later.logout();
      const inbox = states.get('INBOX')!;
      assert.equal(appended.uid, inbox.uidNext, 'the first UID after the copy is the UIDNEXT the client saw');
      const { opened, vanished, fetched } = await resync(pgNode, 'INBOX', inbox);
      assert.ok(opened.highestModseq! > inbox.highestModseq);
      assert.deepEqual(vanished, [6]);
      assert.deepEqual([...fetched.keys()].sort((a, b) => a - b), [5, appended.uid]);
      assert.deepEqual(fetched.get(5), ['\\Answered']);
      // With known UIDs the reply is limited to them (RFC 7162 §3.2.5): the new message is left to UIDNEXT.
      const known = await resyncKnownUids(pgNode, 'INBOX', inbox);
      assert.equal(known.length, 2, known.join('\n'));
      assert.equal(known[0], '* VANISHED (EARLIER) 6');
      assert.match(known[1], /^\* 3 FETCH \(UID 5 FLAGS \(\\Answered\) MODSEQ \(\d+\)\)$/);
    } finally {
      await pgNode?.stop();
      pgNode?.cleanup();
      await sqlite.stop();
      sqlite.cleanup();
    }
  });
});

describe('several nodes on one database', () => {
  test('a delivery through node A wakes IDLE on node B; a CLI delivery wakes it too', async () => {
    const url = await pg.newDatabase();
    const a = await node(url);
    const b = await node(url);
    try {
      addUser(url, 'alice@example.com', 'pw');
      const watcher = imap(b);
      await watcher.connect();
      await watcher.mailboxOpen('INBOX');
      const exists: number[] = [];
      let wake: (() => void) | null = null;
      watcher.on('exists', (data: { count: number }) => {
        exists.push(data.count);
        wake?.();
      });
      const woken = (count: number) =>
        new Promise<void>((resolve) => {
          wake = () => {
            if (exists.includes(count)) resolve();
          };
          wake();
        });
      const idling = watcher.idle();

      const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: a.ports.lmtp, ignoreTLS: true });
      const info = await transport.sendMail({
        envelope: { from: 'x@example.org', to: ['alice@example.com'] },
        raw: makeMessage({ subject: 'through node A' }),
      });
      assert.deepEqual(info.accepted, ['alice@example.com']);
      await woken(1);

      const r = cli(['deliver', 'alice@example.com', '--store', url], makeMessage({ subject: 'from the CLI' }));
      assert.equal(r.status, 0, r.stderr);
      await woken(2);
      await watcher.logout().catch(() => {});
      await idling.catch(() => {});
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      a.cleanup();
      b.cleanup();
    }
  });

  test('20 clients APPEND at once through three nodes: UIDs unique and ascending', async () => {
    const url = await pg.newDatabase();
    const nodes = [await node(url), await node(url), await node(url)];
    try {
      addUser(url, 'alice@example.com', 'pw');
      const uids = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const c = imap(nodes[i % 3]);
          await c.connect();
          try {
            const r = await c.append('INBOX', makeMessage({ subject: `parallel ${i}` }));
            assert.ok(r);
            return r.uid;
          } finally {
            await c.logout();
          }
        }),
      );
      assert.deepEqual([...uids].sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i + 1));
      const c = imap(nodes[2]);
      await c.connect();
      const mb = await c.mailboxOpen('INBOX');
      assert.equal(mb.exists, 20);
      assert.equal(Number(mb.uidNext), 21);
      await c.logout();
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
      for (const n of nodes) n.cleanup();
    }
  });

  test('POP3 on node A locks the maildrop against node B, and the lock goes when A is killed', async () => {
    const url = await pg.newDatabase();
    const a = await node(url);
    const b = await node(url);
    try {
      addUser(url, 'alice@example.com', 'pw');
      const holder = await Pop3.open(a);
      assert.match(await holder.login('alice@example.com', 'pw'), /^\+OK/);
      const refused = await Pop3.open(b);
      assert.match(await refused.login('alice@example.com', 'pw'), /^-ERR \[IN-USE\]/);
      refused.close();

      await a.kill();
      holder.close();
      // PostgreSQL ends A's lock session when its socket closes; a new login on B gets in.
      // Bounded generously: the point is "within seconds", on a loaded machine.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const client = await Pop3.open(b);
        const reply = await client.login('alice@example.com', 'pw');
        if (/^\+OK/.test(reply)) {
          await client.command('QUIT');
          client.close();
          break;
        }
        client.close();
        assert.ok(Date.now() < deadline, `the lock was not released: ${reply}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await a.kill();
      await b.stop();
      a.cleanup();
      b.cleanup();
    }
  });

  test('node A is SIGKILLed during deliveries: every acknowledged message is there exactly once', async () => {
    const url = await pg.newDatabase();
    const a = await node(url);
    const b = await node(url);
    try {
      addUser(url, 'alice@example.com', 'pw');
      const acknowledged: string[] = [];
      let killed: Promise<void> | null = null;
      // Four senders through A; A is killed once ten deliveries are acknowledged, while others are in flight.
      await Promise.all(
        Array.from({ length: 4 }, async (_, sender) => {
          const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: a.ports.lmtp, ignoreTLS: true });
          for (let i = 0; !killed || i < 1; i++) {
            const subject = `sender ${sender} message ${i}`;
            try {
              const info = await transport.sendMail({
                envelope: { from: 'x@example.org', to: ['alice@example.com'] },
                raw: makeMessage({ subject }),
              });
              if (info.accepted.length === 1) acknowledged.push(subject);
            } catch {
              break; // A is gone
            }
            if (acknowledged.length >= 10 && !killed) killed = a.kill();
          }
        }),
      );
      await killed;
      const c = imap(b);
      await c.connect();
      const mb = await c.mailboxOpen('INBOX');
      const subjects: string[] = [];
      const uids: number[] = [];
      if (mb.exists > 0) {
        for await (const m of c.fetch('1:*', { uid: true, envelope: true })) {
          subjects.push(m.envelope!.subject!);
          uids.push(m.uid);
        }
      }
      await c.logout();
      for (const s of acknowledged) assert.equal(subjects.filter((x) => x === s).length, 1, `${s} once`);
      assert.equal(new Set(subjects).size, subjects.length, 'nothing stored twice');
      assert.deepEqual(uids, [...uids].sort((x, y) => x - y));
      // B keeps delivering after A's death, with the next UIDs.
      const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: b.ports.lmtp, ignoreTLS: true });
      const info = await transport.sendMail({ envelope: { from: 'x@example.org', to: ['alice@example.com'] }, raw: makeMessage({ subject: 'after' }) });
      assert.deepEqual(info.accepted, ['alice@example.com']);
    } finally {
      await a.kill();
      await b.stop();
      a.cleanup();
      b.cleanup();
    }
  });

  test('the database restarts: sessions get NO [UNAVAILABLE] at worst, then recover, and push works again', { skip: pg.restart === null }, async () => {
    const url = await pg.newDatabase();
    const a = await node(url);
    const b = await node(url);
    try {
      addUser(url, 'alice@example.com', 'pw');
      const session = imap(a);
      await session.connect();
      await session.mailboxOpen('INBOX');
      await pg.restart!();
      // Each command either succeeds or says UNAVAILABLE; it never drops the session or lies.
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const status = await session.status('INBOX', { messages: true });
          assert.equal(status.messages, 0);
          break;
        } catch (err) {
          assert.match(String((err as { responseText?: string }).responseText ?? err), /unavailable/i);
          assert.ok(Date.now() < deadline, 'the store came back');
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      // B re-listened: a delivery through A wakes IDLE on B.
      const watcher = imap(b);
      await watcher.connect();
      await watcher.mailboxOpen('INBOX');
      const woken = new Promise<void>((resolve) => watcher.on('exists', () => resolve()));
      const idling = watcher.idle();
      const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: a.ports.lmtp, ignoreTLS: true });
      for (;;) {
        const info = await transport.sendMail({ envelope: { from: 'x@example.org', to: ['alice@example.com'] }, raw: makeMessage({ subject: 'after restart' }) }).catch((err: unknown) => err);
        if ((info as { accepted?: string[] }).accepted?.length === 1) break;
        assert.ok(Date.now() < deadline, `delivery after the restart: ${String(info)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      await woken;
      await watcher.logout().catch(() => {});
      await idling.catch(() => {});
      await session.logout();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      a.cleanup();
      b.cleanup();
    }
  });

  test('while the database is down: IMAP NO [UNAVAILABLE], LMTP 451 4.3.0, POP3 -ERR [SYS/TEMP], never a false OK', { skip: pg.down === null }, async () => {
    const url = await pg.newDatabase();
    const a = await node(url);
    let isDown = false;
    try {
      addUser(url, 'alice@example.com', 'pw');
      const session = imap(a);
      await session.connect();
      await session.mailboxOpen('INBOX');
      const pop = await Pop3.open(a);
      assert.match(await pop.command('USER alice@example.com'), /^\+OK/);
      await pg.down!();
      isDown = true;
      // SELECT must read the store (imapflow's status() hides a NO as `false`; mailboxOpen throws it).
      await assert.rejects(session.mailboxOpen('Archive'), (err: { responseText?: string; serverResponseCode?: string }) => {
        assert.match(`${err.serverResponseCode ?? ''} ${err.responseText ?? ''}`, /UNAVAILABLE/i);
        return true;
      });
      assert.match(await pop.command('PASS pw'), /^-ERR \[SYS\/TEMP\]/);
      pop.close();
      const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: a.ports.lmtp, ignoreTLS: true });
      const refused = await transport
        .sendMail({ envelope: { from: 'x@example.org', to: ['alice@example.com'] }, raw: makeMessage({ subject: 'while down' }) })
        .then((info) => (info.rejectedErrors?.[0] as { responseCode?: number; response?: string } | undefined) ?? info, (err: { responseCode?: number; response?: string }) => err);
      assert.equal((refused as { responseCode?: number }).responseCode, 451, JSON.stringify(refused));
      assert.match(String((refused as { response?: string }).response), /4\.3\.0/);

      await pg.up!();
      isDown = false;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ok = await session.status('Archive', { messages: true }).then((s) => s.messages === 0, () => false);
        if (ok) break;
        assert.ok(Date.now() < deadline, 'the session recovered');
        await new Promise((r) => setTimeout(r, 200));
      }
      await session.logout();
    } finally {
      if (isDown) await pg.up!();
      await a.stop();
      a.cleanup();
    }
  });
});
