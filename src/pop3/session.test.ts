import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeConnection } from '../../test/helpers/fake-connection.js';
import { MailDomain } from '../domain/mail-domain.js';
import { LocalBus } from '../notify/bus.js';
import { silentLogger } from '../observability/log.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import { StoreError, type MailStore } from '../store/types.js';
import { encodePlain } from '../protocol/sasl/plain.js';
import { dotStuff, wireSize } from '../protocol/pop3/index.js';
import { createPop3Session, type Pop3Context } from './session.js';
import { isLoopback } from './policy.js';

let store: MailStore;
let domain: MailDomain;
let accountCounter = 0;

before(async () => {
  store = await openSqliteStore(':memory:');
  domain = new MailDomain(store, new LocalBus());
});
after(async () => {
  await store.close();
});

function context(overrides: Partial<Pop3Context> = {}): Pop3Context {
  return {
    domain,
    log: silentLogger(),
    hostname: 'mail.example.test',
    tlsAvailable: true,
    allowCleartextAuthFromLoopback: false,
    authFailureDelayMs: 10,
    idleTimeoutMs: 600000,
    unauthenticatedTimeoutMs: 60000,
    ...overrides,
  };
}

const MSG1 = Buffer.from('From: a@example.com\r\nSubject: one\r\n\r\nHello\r\n.\r\n..two dots\r\n.starts with dot\r\nend\r\n');
/** Imported mail with bare LF line ends and no final line end. */
const MSG2 = Buffer.from('From: b@example.com\nSubject: two\n\nline 1\nline 2\n.line 3\nline 4');

/** A fresh account (own maildrop lock) with the given messages delivered to INBOX. */
async function account(messages: Buffer[] = [MSG1, MSG2]): Promise<{ address: string; password: string; id: number }> {
  const address = `user${++accountCounter}@example.com`;
  const password = 'pass word ' + accountCounter;
  const created = await domain.createAccount(address, password);
  for (const m of messages) await domain.deliver(address, m);
  return { address, password, id: created.id };
}

function open(opts: { secure?: boolean; remoteAddress?: string } = { secure: true }, ctx: Partial<Pop3Context> = {}): FakeConnection {
  const conn = new FakeConnection(opts);
  conn.session = createPop3Session(conn, context(ctx));
  return conn;
}

const SINGLE = /^[^\n]*\r\n$/;
const MULTI = /^(-ERR[^\n]*\r\n|\+OK[\s\S]*\r\n\.\r\n)$/;

/** Sends one command line and returns the complete reply (multi-line when `multi`). */
async function cmd(conn: FakeConnection, line: string, multi = false): Promise<string> {
  conn.take();
  conn.send(line + '\r\n');
  await conn.waitFor(multi ? MULTI : SINGLE);
  return conn.take();
}

async function loggedIn(user: { address: string; password: string }, existing?: FakeConnection): Promise<FakeConnection> {
  const conn = existing ?? open();
  if (!existing) assert.equal(await conn.waitFor(SINGLE), '+OK Mailstead POP3 ready\r\n');
  assert.equal(await cmd(conn, `USER ${user.address}`), '+OK Send your password\r\n');
  assert.equal(await cmd(conn, `PASS ${user.password}`), '+OK Logged in\r\n');
  return conn;
}

/** STLS, then wait for the (instant, fake) handshake: a real client cannot send before it completes. */
async function stls(conn: FakeConnection): Promise<void> {
  assert.equal(await cmd(conn, 'STLS'), '+OK Begin TLS negotiation\r\n');
  await new Promise((r) => setImmediate(r));
  assert.equal(conn.secure, true);
}

test('greeting, and CAPA before and after STLS on a plain connection', async () => {
  const conn = open({ secure: false, remoteAddress: '192.0.2.7' });
  assert.equal(await conn.waitFor(SINGLE), '+OK Mailstead POP3 ready\r\n');
  const before = await cmd(conn, 'CAPA', true);
  assert.equal(
    before,
    '+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER USER\r\nSTLS\r\nIMPLEMENTATION Mailstead\r\n.\r\n',
  );
  await stls(conn);
  const afterTls = await cmd(conn, 'capa', true);
  assert.match(afterTls, /\r\nUSER\r\nSASL PLAIN\r\n/);
  assert.doesNotMatch(afterTls, /STLS/);
  assert.equal(await cmd(conn, 'STLS'), '-ERR TLS is already active\r\n');
});

test('plaintext login is refused before STLS, accepted after it', async () => {
  const user = await account([]);
  const conn = open({ secure: false, remoteAddress: '127.0.0.1' });
  await conn.waitFor(SINGLE);
  const refusal = '-ERR [AUTH] Plaintext authentication disallowed on non-secure connections; use STLS\r\n';
  assert.equal(await cmd(conn, `USER ${user.address}`), refusal);
  assert.equal(await cmd(conn, `PASS ${user.password}`), refusal);
  assert.equal(await cmd(conn, `AUTH PLAIN ${encodePlain(user.address, user.password)}`), refusal);
  await stls(conn);
  await loggedIn(user, conn);
  assert.equal(conn.idleTimeoutMs, 600000);
});

test('STLS discards commands pipelined behind it in the clear (RFC 2595 §4)', async () => {
  const conn = open({ secure: false });
  await conn.waitFor(SINGLE);
  conn.take();
  conn.send('STLS\r\nUSER injected\r\nNOOP\r\n');
  await conn.waitFor('+OK Begin TLS negotiation\r\n');
  // Replies come in command order: had the pipelined commands run, their replies would sit
  // between the STLS reply and the CAPA reply (no sleep needed to see that they did not).
  await new Promise((r) => setImmediate(r)); // the fake handshake completes (see stls())
  assert.equal(conn.secure, true);
  conn.send('CAPA\r\n');
  const text = await conn.waitFor(/\r\n\.\r\n$/);
  assert.match(text, /^\+OK Begin TLS negotiation\r\n\+OK [^\r]*\r\n(?!\+OK|-ERR)[\s\S]*\r\n\.\r\n$/);
  assert.equal(text.match(/^(\+OK|-ERR)/gm)?.length, 2, text);
});

test('cleartext from loopback only with the switch on', async () => {
  const user = await account([]);
  await loggedIn(user, open({ secure: false, remoteAddress: '127.0.0.1' }, { allowCleartextAuthFromLoopback: true })).then((c) =>
    cmd(c, 'QUIT'),
  );
  const remote = open({ secure: false, remoteAddress: '198.51.100.4' }, { allowCleartextAuthFromLoopback: true });
  await remote.waitFor(SINGLE);
  assert.match(await cmd(remote, `USER ${user.address}`), /^-ERR \[AUTH\] Plaintext/);
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopback(a), a);
  for (const a of ['128.0.0.1', '10.0.0.1', '::2', '::ffff:10.0.0.1', '1270.0.0.1', 'localhost']) assert.ok(!isLoopback(a), a);
});

test('STAT, LIST, UIDL, RETR byte-exact with dot-stuffing, TOP', async () => {
  const user = await account();
  const conn = await loggedIn(user);
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  const metas = await store.listMessages(inbox.id);
  const size1 = wireSize(MSG1);
  const size2 = wireSize(MSG2);
  assert.equal(size1, MSG1.length); // already CRLF
  assert.equal(size2, MSG2.length + 8); // 6 bare LFs become CRLF, plus a final CRLF
  assert.equal(await cmd(conn, 'STAT'), `+OK 2 ${size1 + size2}\r\n`);
  assert.equal(await cmd(conn, 'LIST', true), `+OK scan listing follows\r\n1 ${size1}\r\n2 ${size2}\r\n.\r\n`);
  assert.equal(await cmd(conn, 'LIST 2'), `+OK 2 ${size2}\r\n`);
  assert.equal(await cmd(conn, 'LIST 3'), '-ERR No such message\r\n');
  assert.equal(await cmd(conn, 'UIDL', true), `+OK unique-id listing follows\r\n1 ${metas[0].uidl}\r\n2 ${metas[1].uidl}\r\n.\r\n`);
  assert.equal(await cmd(conn, 'UIDL 1'), `+OK 1 ${metas[0].uidl}\r\n`);

  const retr1 = await cmd(conn, 'RETR 1', true);
  assert.equal(retr1, `+OK ${size1} octets\r\n` + 'From: a@example.com\r\nSubject: one\r\n\r\nHello\r\n..\r\n...two dots\r\n..starts with dot\r\nend\r\n.\r\n');
  const retr2 = await cmd(conn, 'RETR 2', true);
  assert.equal(retr2, `+OK ${size2} octets\r\n` + dotStuff(MSG2).toString('latin1'));
  assert.equal(retr2.slice(retr2.indexOf('\r\n') + 2), 'From: b@example.com\r\nSubject: two\r\n\r\nline 1\r\nline 2\r\n..line 3\r\nline 4\r\n.\r\n');

  assert.equal(await cmd(conn, 'TOP 1 0', true), '+OK top of message follows\r\nFrom: a@example.com\r\nSubject: one\r\n\r\n.\r\n');
  assert.equal(await cmd(conn, 'TOP 1 2', true), '+OK top of message follows\r\nFrom: a@example.com\r\nSubject: one\r\n\r\nHello\r\n..\r\n.\r\n');
  assert.equal(await cmd(conn, 'TOP 2 3', true), '+OK top of message follows\r\nFrom: b@example.com\r\nSubject: two\r\n\r\nline 1\r\nline 2\r\n..line 3\r\n.\r\n');
  assert.equal(await cmd(conn, 'TOP 9 1'), '-ERR No such message\r\n');
  assert.equal(await cmd(conn, 'NOOP'), '+OK\r\n');
  // Retrieval is read-only: no \Seen.
  assert.deepEqual((await store.listMessages(inbox.id)).map((m) => m.flags), [[], []]);
});

test('STAT, LIST, UIDL and RSET read no message body; RETR reads its own and the next', async () => {
  const user = await account([]);
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  // Stored as imported, bare LF and all: the POP3 size differs from the stored size.
  const bodies = [MSG1, MSG2, Buffer.from('Subject: three\n\n'.padEnd(5000, 'x'))];
  for (const content of bodies) await store.appendMessage(inbox.id, { content });
  const reads: string[] = [];
  const counting = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'readBlob' || prop === 'openBlobRange') reads.push(String(args[0]));
        return value.apply(target, args);
      };
    },
  });
  const conn = open({ secure: true }, { domain: new MailDomain(counting, new LocalBus()) });
  await conn.waitFor(SINGLE);
  await loggedIn(user, conn);
  const sizes = bodies.map((b) => wireSize(b));
  assert.equal(await cmd(conn, 'STAT'), `+OK 3 ${sizes[0] + sizes[1] + sizes[2]}\r\n`);
  assert.equal(await cmd(conn, 'LIST', true), `+OK scan listing follows\r\n1 ${sizes[0]}\r\n2 ${sizes[1]}\r\n3 ${sizes[2]}\r\n.\r\n`);
  assert.equal(await cmd(conn, 'LIST 3'), `+OK 3 ${sizes[2]}\r\n`);
  assert.match(await cmd(conn, 'UIDL', true), /^\+OK unique-id listing follows\r\n1 \S+\r\n2 \S+\r\n3 \S+\r\n\.\r\n$/);
  assert.equal(await cmd(conn, 'DELE 1'), '+OK Message 1 deleted\r\n');
  assert.equal(await cmd(conn, 'RSET'), `+OK Maildrop has 3 messages (${sizes[0] + sizes[1] + sizes[2]} octets)\r\n`);
  assert.deepEqual(reads, [], 'no body was read for STAT, LIST, UIDL, DELE or RSET');
  assert.match(await cmd(conn, 'RETR 2', true), new RegExp(`^\\+OK ${sizes[1]} octets\r\n`));
  const metas = await store.listMessages(inbox.id);
  assert.deepEqual(reads, [metas[1].blobId, metas[2].blobId], 'RETR reads the message it sends, and the next one ahead');
  assert.equal(await cmd(conn, 'RSET'), `+OK Maildrop has 3 messages (${sizes[0] + sizes[1] + sizes[2]} octets)\r\n`);
  await cmd(conn, 'QUIT');
});

test('a large message goes out in slices and arrives byte-exact', async () => {
  const lines: string[] = ['Subject: big', ''];
  for (let i = 0; i < 20000; i++) lines.push(i % 7 === 0 ? `.dot line ${i}` : `line ${i} ${'x'.repeat(i % 50)}`);
  const big = Buffer.from(lines.join('\r\n') + '\r\n');
  const user = await account([big]);
  const conn = await loggedIn(user);
  const reply = await cmd(conn, 'RETR 1', true);
  assert.equal(reply, `+OK ${big.length} octets\r\n` + dotStuff(big).toString('latin1'));
});

test('DELE marks, RSET unmarks, deleted messages cannot be referred to', async () => {
  const user = await account();
  const conn = await loggedIn(user);
  assert.equal(await cmd(conn, 'DELE 1'), '+OK Message 1 deleted\r\n');
  assert.equal(await cmd(conn, 'DELE 1'), '-ERR Message 1 already deleted\r\n');
  assert.equal(await cmd(conn, 'RETR 1'), '-ERR Message 1 is deleted\r\n');
  assert.equal(await cmd(conn, 'STAT'), `+OK 1 ${wireSize(MSG2)}\r\n`);
  assert.equal(await cmd(conn, 'LIST', true), `+OK scan listing follows\r\n2 ${wireSize(MSG2)}\r\n.\r\n`);
  assert.equal(await cmd(conn, 'RSET'), `+OK Maildrop has 2 messages (${wireSize(MSG1) + wireSize(MSG2)} octets)\r\n`);
  assert.match(await cmd(conn, 'RETR 1', true), /^\+OK/);
});

test('DELE then QUIT removes the messages from the store and unlocks', async () => {
  const user = await account();
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  const [first, second] = await store.listMessages(inbox.id);
  const conn = await loggedIn(user);
  await cmd(conn, 'DELE 1');
  assert.equal(await cmd(conn, 'QUIT'), '+OK Bye, 1 messages deleted\r\n');
  assert.equal(conn.closedByServer, true);
  assert.deepEqual((await store.listMessages(inbox.id)).map((m) => m.uid), [second.uid]);
  assert.notEqual(first.uid, second.uid);
  assert.equal(await domain.tryLockMaildrop(user.id), true);
  await domain.unlockMaildrop(user.id);
});

test('DELE then the connection drops: nothing is deleted, the lock is released', async () => {
  const user = await account();
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  const conn = await loggedIn(user);
  await cmd(conn, 'DELE 1');
  await cmd(conn, 'DELE 2');
  conn.session!.closed();
  assert.equal((await store.listMessages(inbox.id)).length, 2);
  // A new session can log in and sees both messages.
  const again = await loggedIn(user);
  assert.match(await cmd(again, 'STAT'), /^\+OK 2 /);
});

test('autologout and shutdown delete nothing', async () => {
  const user = await account();
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  const conn = await loggedIn(user);
  await cmd(conn, 'DELE 1');
  conn.take();
  conn.fireTimeout();
  assert.equal(conn.take(), '-ERR Autologout; idle for too long\r\n');
  assert.equal(conn.closedByServer, true);
  const second = await loggedIn(user);
  await cmd(second, 'DELE 2');
  second.take();
  await second.session!.shutdown();
  assert.equal(second.take(), '-ERR Server shutting down\r\n');
  assert.equal(second.closedByServer, true);
  assert.equal((await store.listMessages(inbox.id)).length, 2);
  assert.equal(await domain.tryLockMaildrop(user.id), true);
  await domain.unlockMaildrop(user.id);
});

test('a second session gets [IN-USE] and is closed', async () => {
  const user = await account();
  const first = await loggedIn(user);
  const second = open();
  await second.waitFor(SINGLE);
  await cmd(second, `USER ${user.address}`);
  assert.equal(await cmd(second, `PASS ${user.password}`), '-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n');
  assert.equal(second.closedByServer, true);
  // The refused session did not take the first one's lock away.
  assert.equal(await domain.tryLockMaildrop(user.id), false);
  assert.match(await cmd(first, 'STAT'), /^\+OK 2 /);
});

test('AUTH PLAIN with and without initial response, cancel, failure, mechanism list', async () => {
  const user = await account([]);
  const conn = open();
  await conn.waitFor(SINGLE);
  assert.equal(await cmd(conn, 'AUTH', true), '+OK Supported mechanisms follow\r\nPLAIN\r\n.\r\n');
  assert.equal(await cmd(conn, 'AUTH CRAM-MD5'), '-ERR Unsupported authentication mechanism\r\n');
  assert.equal(await cmd(conn, 'AUTH PLAIN'), '+ \r\n');
  assert.equal(await cmd(conn, '*'), '-ERR Authentication cancelled\r\n');
  assert.equal(await cmd(conn, `AUTH PLAIN ${encodePlain(user.address, 'wrong')}`), '-ERR [AUTH] Authentication failed\r\n');
  assert.equal(await cmd(conn, `AUTH PLAIN ${encodePlain(user.address, user.password, 'someone@else')}`), '-ERR [AUTH] Authentication failed\r\n');
  assert.equal(await cmd(conn, 'AUTH PLAIN'), '+ \r\n');
  assert.equal(await cmd(conn, encodePlain(user.address, user.password)), '+OK Logged in\r\n');
  await cmd(conn, 'QUIT');

  const withIr = open();
  await withIr.waitFor(SINGLE);
  assert.equal(await cmd(withIr, `AUTH PLAIN ${encodePlain(user.address.toUpperCase(), user.password)}`), '+OK Logged in\r\n');
  assert.equal(await cmd(withIr, 'STAT'), '+OK 0 0\r\n');
});

test('USER/PASS failures', async () => {
  const user = await account([]);
  const conn = open();
  await conn.waitFor(SINGLE);
  assert.equal(await cmd(conn, 'PASS x'), '-ERR Send USER first\r\n');
  await cmd(conn, `USER ${user.address}`);
  const started = Date.now();
  assert.equal(await cmd(conn, 'PASS wrong'), '-ERR [AUTH] Authentication failed\r\n');
  assert.ok(Date.now() - started >= 10);
  assert.equal(await cmd(conn, `PASS ${user.password}`), '-ERR Send USER first\r\n');
  await cmd(conn, 'USER nobody@example.com');
  assert.equal(await cmd(conn, 'PASS whatever'), '-ERR [AUTH] Authentication failed\r\n');
});

test('unknown, malformed and wrong-state commands; too many bad commands closes', async () => {
  const user = await account();
  const conn = open();
  await conn.waitFor(SINGLE);
  assert.equal(await cmd(conn, 'XYZZY 1'), '-ERR Unknown command: XYZZY\r\n');
  assert.equal(await cmd(conn, 'STAT'), '-ERR STAT is not allowed before login\r\n');
  assert.equal(await cmd(conn, 'NOOP'), '-ERR NOOP is not allowed before login\r\n');
  await loggedIn(user, conn);
  assert.equal(await cmd(conn, `USER ${user.address}`), '-ERR USER is not allowed after login\r\n');
  assert.equal(await cmd(conn, 'STLS'), '-ERR STLS is not allowed after login\r\n');
  assert.equal(await cmd(conn, 'RETR 0'), '-ERR RETR needs a message number\r\n');
  assert.equal(await cmd(conn, 'TOP 1 -1'), '-ERR TOP needs a message number and a number of lines\r\n');
  assert.equal(await cmd(conn, 'A'.repeat(10000)), '-ERR Line too long\r\n');
  assert.match(await cmd(conn, 'CAPA', true), /^\+OK/);
  conn.take();
  conn.send('BAD\r\n'.repeat(12));
  await conn.waitFor('-ERR Too many bad commands\r\n');
  assert.equal(conn.closedByServer, true);
  assert.equal(conn.take(), '-ERR Unknown command: BAD\r\n'.repeat(10) + '-ERR Too many bad commands\r\n');
  // Closed without QUIT: the lock is free again.
  assert.equal(await domain.tryLockMaildrop(user.id), true);
  await domain.unlockMaildrop(user.id);
});

test('pipelined commands in one chunk are answered in order', async () => {
  const user = await account();
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  const conn = open();
  await conn.waitFor(SINGLE);
  conn.take();
  conn.send(`USER ${user.address}\r\nPASS ${user.password}\r\nSTAT\r\nLIST 1\r\nDELE 2\r\nUIDL 2\r\nQUIT\r\n`);
  await conn.waitFor(/Bye.*\r\n$/);
  const size1 = wireSize(MSG1);
  assert.equal(
    conn.take(),
    '+OK Send your password\r\n+OK Logged in\r\n' +
      `+OK 2 ${size1 + wireSize(MSG2)}\r\n+OK 1 ${size1}\r\n+OK Message 2 deleted\r\n-ERR Message 2 is deleted\r\n` +
      '+OK Bye, 1 messages deleted\r\n',
  );
  assert.equal((await store.listMessages(inbox.id)).length, 1);
});

test('a large pipelined burst pauses the connection and resumes once drained', async () => {
  const user = await account([]);
  const conn = await loggedIn(user);
  conn.take();
  // 1200 lines of ~1 KiB (trailing spaces are tolerated between arguments): more than the 1 MiB pause mark.
  conn.send('STAT\r\n' + `NOOP${' '.repeat(1000)}\r\n`.repeat(1200) + 'STAT\r\n');
  assert.equal(conn.paused, true);
  await conn.waitFor(/\+OK\r\n\+OK 0 0\r\n$/, 120_000);
  assert.equal(conn.take(), '+OK 0 0\r\n' + '+OK\r\n'.repeat(1200) + '+OK 0 0\r\n');
  assert.equal(conn.paused, false);
});

test('RETR of a message expunged by another session after earlier RETRs found the maildrop unchanged', async () => {
  const user = await account();
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  const conn = await loggedIn(user);
  assert.match(await cmd(conn, 'RETR 2', true), /^\+OK/);
  assert.match(await cmd(conn, 'TOP 1 0', true), /^\+OK/);
  const [first] = await store.listMessages(inbox.id);
  // A copy elsewhere keeps the bytes in the store: only the maildrop's own check can tell.
  await domain.copyMessages(inbox, [first.uid], await domain.requireMailbox(user.id, 'Archive'));
  await domain.expungeMessages(inbox, [first.uid]);
  assert.equal(await cmd(conn, 'RETR 1'), '-ERR Message 1 was removed by another session\r\n');
  assert.equal(await cmd(conn, 'TOP 1 0'), '-ERR Message 1 was removed by another session\r\n');
  assert.match(await cmd(conn, 'RETR 2', true), /^\+OK/);
  assert.match(await cmd(conn, 'QUIT'), /^\+OK Bye/);
});

test('RETR of a message expunged by another session since login', async () => {
  const user = await account();
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  const conn = await loggedIn(user);
  const [first] = await store.listMessages(inbox.id);
  await domain.expungeMessages(inbox, [first.uid]);
  assert.equal(await cmd(conn, 'RETR 1'), '-ERR Message 1 was removed by another session\r\n');
  assert.equal(await cmd(conn, 'TOP 1 0'), '-ERR Message 1 was removed by another session\r\n');
  assert.match(await cmd(conn, 'RETR 2', true), /^\+OK/);
  // Deleting it anyway and quitting is harmless.
  await cmd(conn, 'DELE 1');
  assert.equal(await cmd(conn, 'QUIT'), '+OK Bye, 1 messages deleted\r\n');
  assert.equal((await store.listMessages(inbox.id)).length, 1);
});

test('a store failure becomes -ERR [SYS/TEMP] and the session goes on; a failed QUIT deletes nothing', async () => {
  const user = await account();
  let failing = false;
  // The real store, with body reads and the POP3 commit failing on demand.
  const flaky = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (failing && (prop === 'readBlob' || prop === 'openBlobRange' || prop === 'expungeMessages' || prop === 'commitPop3Update')) {
          return Promise.reject(new StoreError('STORE_UNAVAILABLE', 'database is locked'));
        }
        return value.apply(target, args);
      };
    },
  });
  const flakyDomain = new MailDomain(flaky, new LocalBus());
  const session = open({ secure: true }, { domain: flakyDomain });
  await session.waitFor(SINGLE);
  await loggedIn(user, session);
  failing = true;
  assert.equal(await cmd(session, 'RETR 1'), '-ERR [SYS/TEMP] Storage is temporarily unavailable, try again later\r\n');
  assert.equal(await cmd(session, 'DELE 1'), '+OK Message 1 deleted\r\n');
  assert.equal(await cmd(session, 'QUIT'), '-ERR [SYS/TEMP] Some deleted messages not removed\r\n');
  assert.equal(session.closedByServer, true);
  failing = false;
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  assert.equal((await store.listMessages(inbox.id)).length, 2);
  assert.equal(await flakyDomain.tryLockMaildrop(user.id), true);
});

test('a client that keeps talking but never logs in is closed after three idle periods', async (t) => {
  // Fake timers: the deadline runs on a clock the test moves, not on how fast a loaded machine is.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const conn = open({ secure: true }, { unauthenticatedTimeoutMs: 60_000 });
  await conn.waitFor(SINGLE);
  // CAPA every 10 s would keep a real idle timer from firing; only the login deadline (180 s) can end it.
  for (let elapsed = 0; elapsed < 170_000; elapsed += 10_000) {
    assert.match(await cmd(conn, 'CAPA', true), /^\+OK/);
    t.mock.timers.tick(10_000);
  }
  t.mock.timers.tick(9_999);
  assert.match(await cmd(conn, 'CAPA', true), /^\+OK/);
  assert.equal(conn.closedByServer, false, 'not before the deadline');
  t.mock.timers.tick(1);
  await conn.waitClosed();
  assert.equal(conn.text(), '-ERR Too long without logging in\r\n');
});

test('RETR reads the next message ahead; one expunged meanwhile is still refused, and the bytes sent are exact', async () => {
  const MSG3 = Buffer.from('From: c@example.com\r\nSubject: three\r\n\r\nthird\r\n');
  const user = await account([MSG1, MSG2, MSG3]);
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  const conn = await loggedIn(user);
  const reads: string[] = [];
  const readBody = domain.readBody.bind(domain);
  domain.readBody = (message) => (reads.push(message.blobId), readBody(message));
  const [m1, m2, m3] = await store.listMessages(inbox.id);
  try {
    assert.equal(await cmd(conn, 'RETR 1', true), `+OK ${wireSize(MSG1)} octets\r\n${dotStuff(MSG1).toString('latin1')}`);
    // Message 2 was read while message 1 went out.
    assert.deepEqual(reads, [m1!.blobId, m2!.blobId]);
    assert.equal(await cmd(conn, 'RETR 2', true), `+OK ${wireSize(MSG2)} octets\r\n${dotStuff(MSG2).toString('latin1')}`);
    assert.deepEqual(reads, [m1!.blobId, m2!.blobId, m3!.blobId], 'message 2 is not read twice');
    // Message 3, read ahead already, is expunged by another session: the bytes in hand do not matter.
    await domain.expungeMessages(inbox, [m3!.uid]);
    assert.equal(await cmd(conn, 'RETR 3'), '-ERR Message 3 was removed by another session\r\n');
    // DELE skips a message: the one after it is read ahead; TOP uses what was read ahead too.
    assert.match(await cmd(conn, 'DELE 2'), /^\+OK/);
    reads.length = 0;
    assert.match(await cmd(conn, 'TOP 1 0', true), /^\+OK top of message follows\r\nFrom: a@example.com\r\nSubject: one\r\n\r\n\.\r\n$/);
    assert.deepEqual(reads, [m1!.blobId, m3!.blobId]);
    assert.match(await cmd(conn, 'QUIT'), /^\+OK Bye, 1 messages deleted/);
  } finally {
    domain.readBody = readBody;
  }
});
